"""The one-working-day promise (DESIGN §2, issue 6): a scheduled check finds every application still
undecided after its due time, flags it once, and reports them all, so an alarm fires while any is waiting.

Flagging is conditioned on the application still being undecided: one certified, rejected or withdrawn
between the read and the write is left as it is, and is no longer past due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from jevs.domain.applications import Application
from jevs.domain.errors import Conflict
from jevs.domain.ports import Clock

# More than this many past due at once is an outage, not a backlog: the rest are flagged by the next runs.
PAST_DUE_LIMIT = 500


class PastDueStore(Protocol):
    """What the check needs of the record store (``HostedStore`` has it)."""

    def open_applications_due_before(self, moment: datetime, limit: int) -> Sequence[Application]: ...

    def replace_registration(self, previous: Application, updated: Application) -> None: ...


@dataclass(frozen=True)
class PastDueReport:
    checked_at: datetime
    # Every application still undecided past its due time, most overdue first, flagged now or before.
    past_due: Sequence[Application]
    # Those this run flagged (as stored now).
    newly_flagged: Sequence[Application]

    @property
    def count(self) -> int:
        return len(self.past_due)


def flag_past_due(store: PastDueStore, clock: Clock, limit: int = PAST_DUE_LIMIT) -> PastDueReport:
    now = clock.now()
    past_due: list[Application] = []
    flagged: list[Application] = []
    for application in store.open_applications_due_before(now, limit):
        if application.flagged_past_due_at is not None:
            past_due.append(application)
            continue
        updated = application.model_copy(update={"flagged_past_due_at": now})
        try:
            store.replace_registration(application, updated)
        except Conflict:
            continue  # decided (or withdrawn) since it was read: not past due any more
        past_due.append(updated)
        flagged.append(updated)
    return PastDueReport(checked_at=now, past_due=tuple(past_due), newly_flagged=tuple(flagged))
