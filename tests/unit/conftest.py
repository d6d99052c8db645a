"""The unit tier runs the domain with in-memory fakes: any attempt to open a network connection is a bug."""

from __future__ import annotations

import socket

import pytest


class NetworkUsedInUnitTest(RuntimeError):
    pass


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise NetworkUsedInUnitTest("unit tests use no sockets: use the in-memory fakes of tests/fakes.py")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
