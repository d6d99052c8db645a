"""Deciding again when a commit is refused because what it read has moved on.

A certificate's history moves on whenever a delivery is acknowledged or a declaration quoting it is decided. An
action on the certificate (a replacement, a preference decision, a verification step) that read it just before is
then refused at commit; it is decided again on what is stored now. Only when that keeps happening is the caller
asked to retry (503 with Retry-After).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from jevs.service.unit_of_work import Refused

ATTEMPTS = 3
_T = TypeVar("_T")


def decided_afresh(decide: Callable[[], _T], attempts: int = ATTEMPTS) -> _T:
    """``decide()`` (which reads, decides and commits), again after each refused commit, ``attempts`` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            return decide()
        except Refused:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
