"""The production stack: it composes one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infrastructure.cdk.data import DataConstruct


class JevsStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.data = DataConstruct(self, "Data")
