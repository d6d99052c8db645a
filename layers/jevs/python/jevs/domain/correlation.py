"""Which request the work in hand comes from: its correlation id, the id API Gateway (or the local gateway) gave
the request. The API sets it for each request; every message a change writes carries it (``messages``), and each
function that handles a message sets it again from the message, so the log lines of a request and of all the
work it causes, in any function, share one id an operator can search for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    """The correlation id of the work in hand; None outside a request and its messages (a schedule's work)."""
    return _current.get()


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """The work inside is the request ``correlation_id``'s (None: no request's)."""
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)
