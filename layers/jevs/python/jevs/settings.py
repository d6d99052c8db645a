"""Configuration, parsed once per function from the environment at the edge. Nothing deeper reads
``os.environ``; a missing setting fails loudly when a function starts, never with a silent default.

Each function has its own model, holding only what it uses (the CDK stack gives each function exactly
these variables; ``jevs.resources`` names them).
"""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class _JevsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEVS_", frozen=True, extra="ignore")


class ApiSettings(_JevsSettings):
    records_table: str = Field(min_length=3, description="The DynamoDB table of certificates and their history.")
    # JSON: [{"client_id": "...", "party": {"type": "...", "id": "...", "name": "...", ...}}, ...]
    parties: str = Field(min_length=2, description="The party registry: which OAuth2 client stands for which party.")
    max_request_bytes: int = Field(default=65_536, gt=0, description="Larger request bodies are refused with 413.")


class RelaySettings(_JevsSettings):
    delivery_queue_url: str = Field(min_length=8, description="Where certificates to deliver to China go.")


@cache
def api_settings() -> ApiSettings:
    return ApiSettings()  # values come from the environment


@cache
def relay_settings() -> RelaySettings:
    return RelaySettings()  # values come from the environment


def forget_settings() -> None:
    """Parse the environment again on next use (a process that changes it: tests, the local stack)."""
    api_settings.cache_clear()
    relay_settings.cache_clear()
