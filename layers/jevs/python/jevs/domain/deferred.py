"""Type adapters built on first use, as the domain's models are (``defer_build``, see ``jevs.domain``).

A ``TypeAdapter`` made at import builds its validator there and then: the union of the outbox's messages alone took
50 ms of every function's import, though the relay reads a message only when its first batch comes and most
functions never read one. Every adapter made here is listed, so a SnapStart function builds them all before its
snapshot (``jevs.bootstrap.build_deferred_models``)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

T = TypeVar("T")

_DEFERRED = ConfigDict(defer_build=True)
# Every adapter ``deferred_adapter`` made, in the order they were made.
MADE: list[TypeAdapter[Any]] = []


def deferred_adapter(kind: Any) -> TypeAdapter[Any]:
    """A ``TypeAdapter`` of ``kind``, its validator built on first use: a model's adapter is deferred by the model's
    own config (pydantic refuses a second one), a union's or a container's by this one."""
    own_config = isinstance(kind, type) and issubclass(kind, BaseModel)
    adapter: TypeAdapter[Any] = TypeAdapter(kind) if own_config else TypeAdapter(kind, config=_DEFERRED)
    MADE.append(adapter)
    return adapter
