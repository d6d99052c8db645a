"""The composition root of the API function: settings, store, registry and clock, each built once per
container on first use (never at import time) and replaceable in tests through ``use``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jevs.adapters.aws import dynamodb
from jevs.adapters.clock import SystemClock
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.domain.parties import PartyRegistry
from jevs.domain.ports import CertificateStore, Clock
from jevs.settings import api_settings


@dataclass(frozen=True)
class Dependencies:
    store: CertificateStore
    parties: PartyRegistry
    clock: Clock
    max_request_bytes: int


_override: Dependencies | None = None


@cache
def _from_environment() -> Dependencies:
    config = api_settings()
    clock = SystemClock()
    return Dependencies(
        store=DynamoCertificateStore(dynamodb(), config.records_table, clock),
        parties=StaticPartyRegistry.from_json(config.parties),
        clock=clock,
        max_request_bytes=config.max_request_bytes,
    )


def dependencies() -> Dependencies:
    return _override or _from_environment()


def use(replacement: Dependencies | None) -> None:
    """Swap the dependencies (unit tests with fakes); None restores the ones from the environment."""
    global _override
    _override = replacement


def reset() -> None:
    """Forget the built dependencies, so the next request builds them from the environment again."""
    use(None)
    _from_environment.cache_clear()
