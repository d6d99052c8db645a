"""Configuration, parsed once from the environment at the edge. Nothing deeper reads ``os.environ``;
a missing setting fails loudly when a function starts, never with a silent default."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEVS_", frozen=True)

    records_table: str = Field(
        min_length=3, description="Name of the DynamoDB table of certificates and their history."
    )
    # JSON: [{"client_id": "...", "party": {"type": "...", "id": "...", "name": "...", ...}}, ...]
    parties: str = Field(min_length=2, description="The party registry: which OAuth2 client stands for which party.")
    max_request_bytes: int = Field(default=131_072, gt=0, description="Larger request bodies are refused with 413.")


@cache
def settings() -> Settings:
    return Settings()  # values come from the environment
