"""The unit of work over the records table: repositories that read from it and stage named writes, and one
commit that stores them as one transaction (``Table.write``), with the request's first answer when the
request is idempotent."""

from __future__ import annotations

from datetime import datetime

from jevs.adapters.table.model import Table, Write
from jevs.adapters.table.repositories import (
    Sealing,
    TableAnswers,
    TableApplications,
    TableCertificates,
    TableCircuits,
    TableCounters,
    TableDeclarations,
    TableDeliveries,
    TableOutbox,
    TableRedrives,
    TableRegistrations,
    TableUsageLedgers,
    TableVerificationRequests,
)
from jevs.domain.errors import RetryableFailure
from jevs.service.idempotency import AlreadyAnswered, IdempotentRequest
from jevs.service.ports import Clock, Signer
from jevs.service.unit_of_work import Refused


class TableUnitOfWork:
    def __init__(
        self,
        table: Table,
        clock: Clock,
        idempotent: IdempotentRequest | None = None,
        *,
        sealer: Signer | None = None,
    ) -> None:
        """``sealer``: JEVS's signing key, sealing every history event this unit of work writes (DESIGN.md §6.4);
        every function that appends events is given it."""
        self._table = table
        self._clock = clock
        self._idempotent = idempotent
        self._staged: list[Write] = []
        stage = self._staged.append
        sealed = Sealing(sealer)
        self.certificates = TableCertificates(table, stage, clock.now, sealed)
        self.declarations = TableDeclarations(table, stage)
        self.ledgers = TableUsageLedgers(table, stage)
        self.registrations = TableRegistrations(table, stage, sealed)
        self.applications = TableApplications(table, stage, sealed)
        self.counters = TableCounters(table, stage)
        self.deliveries = TableDeliveries(table, stage)
        self.circuits = TableCircuits(table, stage)
        self.verification_requests = TableVerificationRequests(table, stage)
        self.redrives = TableRedrives(table, stage)
        self.outbox = TableOutbox(table, stage)
        self.answers = TableAnswers(table)

    def now(self) -> datetime:
        return self._clock.now()

    def commit(self, answering: object | None = None) -> None:
        writes, self._staged[:] = list(self._staged), []
        request = self._idempotent
        if request is not None and answering is not None:
            writes.insert(0, TableAnswers.first(request.record(answering, self.now())))
        try:
            self._table.write(writes)
        except Refused as refused:
            if request is None or not refused.of("idempotency"):
                raise
            stored = self.answers.get(request.party_id, request.key)
            if stored is None:  # deleted between the failed write and this read: the caller may simply retry
                raise RetryableFailure("the idempotency record changed during the request") from None
            raise AlreadyAnswered(stored) from None

    def rollback(self) -> None:
        self._staged.clear()
