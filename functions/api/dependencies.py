"""The composition root of the API function: settings, store, registry and clock, each built once per
container on first use (never at import time) and replaceable in tests through ``use``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from jevs.adapters.aws import dynamodb, kms, s3, sqs
from jevs.adapters.clock import SystemClock
from jevs.adapters.documents import S3ObjectStore
from jevs.adapters.dynamodb_store import DynamoCertificateStore
from jevs.adapters.kms_signer import KmsSigner
from jevs.adapters.party_registry import StaticPartyRegistry
from jevs.adapters.redrive import redrive
from jevs.domain.parties import PartyRegistry
from jevs.domain.ports import Clock, RecordStore
from jevs.domain.records import OutboxMessage
from jevs.resources import certificate_document_key
from jevs.settings import api_settings


@dataclass(frozen=True)
class Dependencies:
    store: RecordStore
    parties: PartyRegistry
    clock: Clock
    max_request_bytes: int
    # Publishes the signing key's public half (/.well-known/jwks.json).
    jwks: Callable[[], dict[str, Any]]
    # Moves parked deliveries back to the delivery queue, resuming each before it is sent.
    redrive: Callable[[Callable[[OutboxMessage], None]], list[OutboxMessage]]
    # Reads a certificate version's PDF: (number, version) -> bytes, None while not rendered yet.
    pdf: Callable[[str, int], bytes | None]
    # Parties by id (the issuing body an exporter names).


_override: Dependencies | None = None


@cache
def _from_environment() -> Dependencies:
    config = api_settings()
    clock = SystemClock()
    signer = KmsSigner(kms(), config.signing_key_id)
    registry = StaticPartyRegistry.from_json(config.parties)
    documents = S3ObjectStore(s3(), config.documents_bucket)
    return Dependencies(
        store=DynamoCertificateStore(dynamodb(), config.records_table, clock),
        parties=registry,
        clock=clock,
        max_request_bytes=config.max_request_bytes,
        jwks=signer.jwks,
        redrive=partial(
            redrive,
            sqs(),
            dead_letter_url=config.delivery_dead_letter_queue_url,
            source_url=config.delivery_queue_url,
        ),
        pdf=lambda number, version: documents.get(certificate_document_key(number, version)),
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
