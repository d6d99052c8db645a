"""The local AWS (``infrastructure.local.aws_server``): moto in a process of its own, which answers AWS's API,
keeps state of its own, and ends with the process that started it, however that one ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

from infrastructure.local.aws_server import ROOT, SENT_EMAILS_PATH, AwsServer

pytestmark = pytest.mark.e2e

REGION = "ap-southeast-2"


@pytest.fixture(autouse=True)
def _functions_fed() -> None:
    """Overrides the e2e tier's autouse fixture: the server needs none of the local stack."""


@pytest.fixture
def server() -> Iterator[tuple[AwsServer, str]]:
    running = AwsServer("127.0.0.1", 0)
    url = running.start()
    yield running, url
    running.stop()


def _dynamodb(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's dummy
        config=Config(account_id_endpoint_mode="disabled"),
    )


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/moto-api/", timeout=2)
    except httpx.TransportError:
        return False
    return True


def _gone_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _answers(url):
            return True
        time.sleep(0.1)
    return False


def test_it_answers_aws_from_a_process_of_its_own(server: tuple[AwsServer, str]) -> None:
    running, url = server
    table = {
        "TableName": "made-here",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    _dynamodb(url).create_table(**table)

    assert running.pid is not None
    assert running.pid != os.getpid()
    assert _dynamodb(url).list_tables()["TableNames"] == ["made-here"]


def test_two_servers_keep_apart(server: tuple[AwsServer, str]) -> None:
    """Each stack starts from nothing: moto's state is per process, and each has its own."""
    _, url = server
    _dynamodb(url).create_table(
        TableName="only-in-the-first",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    other = AwsServer("127.0.0.1", 0)
    other_url = other.start()
    try:
        assert _dynamodb(other_url).list_tables()["TableNames"] == []
    finally:
        other.stop()


def test_no_email_sent_is_an_empty_list(server: tuple[AwsServer, str]) -> None:
    _, url = server
    where = {"account": "123456789012", "region": REGION}

    response = httpx.get(f"{url}{SENT_EMAILS_PATH}", params=where, timeout=10)

    assert response.status_code == 200
    assert response.json() == []


def test_stop_ends_it() -> None:
    running = AwsServer("127.0.0.1", 0)
    url = running.start()

    running.stop()

    assert not running.running
    assert _gone_within(url, 1)


@contextmanager
def _stack_process(script: str) -> Iterator[subprocess.Popen[str]]:
    """A process standing for a stack: ``script`` run in a process group of its own (as a terminal's foreground job
    is), its stdin, stdout and stderr piped; killed with its group at the end, should a test fail midway."""
    parent = subprocess.Popen(  # noqa: S603 - this interpreter, with the test's script
        [sys.executable, "-c", textwrap.dedent(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
        start_new_session=True,
    )
    try:
        yield parent
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
        try:
            parent.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            # A server left behind (the failure a test here looks for) still holds the pipes it inherited.
            for stream in (parent.stdin, parent.stdout, parent.stderr):
                if stream is not None:
                    stream.close()


def test_it_ends_when_the_process_that_started_it_is_killed() -> None:
    """A ``make run`` killed with SIGKILL cleans up nothing itself: moto must not stay behind holding the port."""
    script = """
        import threading
        from infrastructure.local.aws_server import AwsServer
        print(AwsServer("127.0.0.1", 0).start(), flush=True)
        threading.Event().wait()
    """
    with _stack_process(script) as parent:
        assert parent.stdout is not None
        url = parent.stdout.readline().strip()
        assert _answers(url)

        parent.send_signal(signal.SIGKILL)
        parent.wait()

        assert _gone_within(url, 10)


def test_ctrl_c_to_the_stack_reaches_the_stack_and_not_the_server() -> None:
    """Ctrl-C reaches the terminal's whole process group. The server is out of it, and the stack stops it; when it
    was in it, the interrupt ended it mid-request, and at shutdown it died with a fatal error over its stdin."""
    script = """
        import signal, sys, time
        from infrastructure.local.aws_server import AwsServer
        interrupted = []
        # Caught, as a stack catches it (a run in the background, as make test's e2e tier, inherits it ignored; a
        # child started after this gets the default).
        signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
        server = AwsServer("127.0.0.1", 0)
        print(server.start(), flush=True)
        while not interrupted:
            time.sleep(0.05)
        print("interrupted", flush=True)
        sys.stdin.readline()
        server.stop()
    """
    with _stack_process(script) as parent:
        assert parent.stdout is not None
        url = parent.stdout.readline().strip()
        assert _answers(url)

        os.killpg(parent.pid, signal.SIGINT)
        assert parent.stdout.readline().strip() == "interrupted"
        time.sleep(0.5)

        assert _answers(url)
        _, errors = parent.communicate("stop\n", timeout=30)
        assert parent.returncode == 0
        assert "Fatal Python error" not in errors
        assert _gone_within(url, 5)
