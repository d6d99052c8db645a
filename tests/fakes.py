"""In-memory stand-ins for the unit tier: a clock that stands still until moved, a signing key of the test's own,
and the records table in memory (``jevs.adapters.table.memory``, the same semantics as DynamoDB: a contract suite
holds them together) with units of work over it that seal every event as JEVS's functions do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jevs.adapters.jws import sign_detached
from jevs.adapters.kms_signer import public_jwk
from jevs.adapters.table.memory import MemoryTable
from jevs.adapters.table.outbox import outgoing_of
from jevs.adapters.table.unit_of_work import TableUnitOfWork
from jevs.domain.canonical import digest
from jevs.domain.messages import OUTBOX_MESSAGE, OutboxMessage, ToChina
from jevs.domain.outbox import Outgoing
from jevs.resources import RECORDS_TABLE
from jevs.service.idempotency import IdempotentRequest
from jevs.verify import verify_detached_jws


class FixedClock:
    def __init__(self, now: datetime = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class Published:
    """A publisher that keeps what it was given, in order (``sent``), and each message as its consumer reads it
    (``messages``)."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.messages: list[OutboxMessage] = []

    def publish(self, message: Outgoing) -> None:
        self.sent.append(message)
        self.messages.append(OUTBOX_MESSAGE.validate_json(message.body))

    def publish_all(self, messages: Sequence[Outgoing]) -> Mapping[str, str]:
        for message in messages:
            self.publish(message)
        return {}


class LocalSigner:
    """An ES256 key of the test's own in place of KMS: it signs (``Signer``) and checks seals (``SealChecker``) with
    its own key only, and shows the JWK a JWKS would list."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        der = self._private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        self.jwk = public_jwk(der)

    def sign_detached(self, payload: bytes) -> str:
        return sign_detached(
            payload, kid=self.jwk["kid"], sign_der=lambda data: self._private.sign(data, ec.ECDSA(hashes.SHA256()))
        )

    def check_seal(self, statement: bytes, seal: str) -> str | None:
        return verify_detached_jws(seal, statement, {"keys": [self.jwk]})


class ParkingLot:
    """The delivery queue's dead-letter queue, as the dispatcher puts parked messages there (``Parking``)."""

    def __init__(self) -> None:
        self.parked: list[ToChina] = []

    def park(self, message: ToChina) -> None:
        self.parked.append(message)


def _answer(result: object) -> dict[str, Any]:
    """What the tests store as a request's answer: a digest of the result, so a replay can be compared."""
    return {"result": digest(result)}


class MemoryRecords:
    """The records table in memory, and units of work over it at the clock's time."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.clock = clock or FixedClock()
        self.table = MemoryTable(RECORDS_TABLE)
        # Seals every event the units of work write, and checks them when a history is read.
        self.key = LocalSigner()

    def uow(self, idempotent: IdempotentRequest | None = None) -> TableUnitOfWork:
        return TableUnitOfWork(self.table, self.clock, idempotent, sealer=self.key)

    def idempotent_uow(
        self, party_id: str, key: str, request: object, answer: Callable[[Any], dict[str, Any]] = _answer
    ) -> TableUnitOfWork:
        """A unit of work of an idempotent request: ``request`` (any data) stands for route and body."""
        return self.uow(IdempotentRequest(party_id, key, digest(request), answer))

    def outbox(self) -> list[OutboxMessage]:
        """Every message the commits wrote to the outbox, in no particular order."""
        return [OUTBOX_MESSAGE.validate_json(message.body) for message in self.outgoing()]

    def outgoing(self) -> list[Outgoing]:
        """The same messages as the outbox relay reads them, to publish."""
        return [message for item in self.table.items() if (message := outgoing_of(item)) is not None]
