"""Reconciliation of open work (DESIGN.md §6.1): whatever a stored change left to be done asynchronously and is
still not done a bound after it was queued had its message lost (or its consumer is down), and is queued again.

Each kind of open work is marked in the commit that makes it and cleared by whoever finishes it
(``jevs.adapters.table.items``, the by-open-work index):

- a declaration waiting to be matched: its ``MatchDeclaration`` is published again to the declarations queue;
- a certificate version whose documents are not made: its ``MakeDocuments`` to the notifications queue;
- an outbox record not published (the stream's relay never brought it, or gave up on it): the record's own message
  to its channel, and the record noted published, as the relay would have.

A declaration or a version queued again counts as open since then, so the next run waits another bound (the note is
a conditional update: work finished meanwhile stays finished). Publishing twice is harmless: the matcher decides a
revision once, the notifier rewrites the same objects and emails once, the dispatcher sends a delivery once.
Deliveries to China still PENDING are reconciled by ``jevs.service.delivery.reconcile``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from jevs.domain.messages import MakeDocuments, OutboxMessage
from jevs.service.declarations import matching_message
from jevs.service.outbox import publish
from jevs.service.ports import Publisher
from jevs.service.unit_of_work import Refused, UnitOfWork

Work = TypeVar("Work")


@dataclass(frozen=True)
class ReconcileOpenWork:
    """How long each kind of work may stay open before it is queued again (``jevs.settings.ReconcilerSettings``
    says why each default is what it is), and at most how many of each kind one run queues."""

    declarations: timedelta
    documents: timedelta
    outbox: timedelta
    limit: int


@dataclass(frozen=True)
class OpenWorkReport:
    """The message ids queued again, per kind."""

    declarations: Sequence[str]
    documents: Sequence[str]
    outbox: Sequence[str]


def reconcile_open_work(command: ReconcileOpenWork, uow: UnitOfWork, publisher: Publisher) -> OpenWorkReport:
    """Queue again every piece of open work of each kind open longer than its bound, oldest first."""
    now = uow.now()
    declarations = _requeued(
        uow,
        publisher,
        uow.declarations.unmatched_before(now - command.declarations, command.limit),
        matching_message,
        lambda declaration: uow.declarations.requeued(declaration, now),
    )
    documents = _requeued(
        uow,
        publisher,
        uow.certificates.undocumented_before(now - command.documents, command.limit),
        lambda version: MakeDocuments(certificate_number=version.number, version=version.version, created_at=now),
        lambda version: uow.certificates.documents_requeued(version, now),
    )
    outbox = []
    for message in uow.outbox.unpublished_before(now - command.outbox, command.limit):
        publish(message, uow, publisher)
        outbox.append(message.message_id)
    return OpenWorkReport(declarations=declarations, documents=documents, outbox=outbox)


def _requeued(
    uow: UnitOfWork,
    publisher: Publisher,
    work: Iterable[Work],
    message: Callable[[Work], OutboxMessage],
    note: Callable[[Work], None],
) -> list[str]:
    """Publish each piece of work's message, then note it queued again (open since now); the ids published."""
    published = []
    for each in work:
        queued = message(each)
        publisher.publish(queued.outgoing())
        note(each)
        # Finished since it was read (decided or amended, documents made): it stays as whoever finished it left it.
        with contextlib.suppress(Refused):
            uow.commit()
        published.append(queued.message_id)
    return published
