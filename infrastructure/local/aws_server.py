"""The local AWS: moto's server in a process of its own, serving one request at a time.

``LocalStack`` starts it (``AwsServer``) and stops it; ``python -m infrastructure.local.aws_server --port 0`` runs
it alone, printing where it listens. It dies with the process that started it: it reads its standard input, which
only that process holds, and exits when the input ends.

**Why a process of its own.** moto's models are Python, so serving every AWS call of the stack is CPU work. In the
stack's process it shared one interpreter lock with the functions, the gateway and the partners' clients, and every
call waited for them: under load half of moto's time inside a request was time waiting for the lock. Here it has a
core of its own (``make bench``'s load section: 1,000 certificates acknowledged sooner and the bare moto floor
faster; the figures are in the README).

**One request at a time.** moto's backends are not thread-safe: a DynamoDB transaction iterates a table while
another request thread changes it ("dictionary changed size during iteration"), which a threaded server allows
once the pollers, the gateway and the dispatcher call at once. DynamoDB serialises conflicting writes itself;
handling moto's requests in turn gives the local stack the same guarantee. Connections are still accepted on
threads, so one client's idle keep-alive connection never blocks the others.

Beside AWS's API it answers ``GET /_jevs/ses/sent?account=...&region=...``: the raw MIME messages the functions
sent through the local SES (moto keeps them in this process; nothing is delivered).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[2]
SENT_EMAILS_PATH = "/_jevs/ses/sent"
# moto and Flask import in about a second; a machine under load may take many times that.
START_TIMEOUT_SECONDS = 60
READY = "listening"

StartResponse = Callable[..., Any]
WsgiApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class OneRequestAtATime:
    """A WSGI application that lets one request at a time into the application it wraps."""

    def __init__(self, application: WsgiApplication) -> None:
        self._application = application
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        with self._lock:
            # The whole body is produced inside the lock: moto builds it from the backend's state.
            return list(self._application(environ, start_response))


def with_sent_emails(application: WsgiApplication) -> WsgiApplication:
    """``application``, with ``SENT_EMAILS_PATH`` answered beside it."""

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == SENT_EMAILS_PATH:
            return _sent_emails(environ, start_response)
        return application(environ, start_response)

    return route


def _sent_emails(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    from moto.ses.models import RawMessage, ses_backends

    query = parse_qs(environ.get("QUERY_STRING", ""))
    account, region = query["account"][0], query["region"][0]
    # SES v2's SendEmail is served by the SES backend, which keeps the raw messages it accepted.
    backend = ses_backends[account][region]
    body = json.dumps([message.raw_data for message in backend.sent_messages if isinstance(message, RawMessage)])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode("utf-8")]


def serve(host: str, port: int) -> None:
    """Serve moto on ``host:port`` (0: a free port) until the parent's end of standard input closes; print
    ``listening <host>:<port>`` once it accepts connections."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from infrastructure.local import moto_speedup

    # Werkzeug logs every request moto serves (each DynamoDB call) unless told otherwise.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_speedup.apply()
    server = make_server(
        host,
        port,
        OneRequestAtATime(with_sent_emails(DomainDispatcherApplication(create_backend_app))),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    threading.Thread(target=_exit_when_orphaned, name="aws-server-parent", daemon=True).start()
    print(f"{READY} {host}:{server.port}", flush=True)
    # Nothing else goes to standard output: the parent stops reading it once it knows the port.
    sys.stdout = sys.stderr
    server.serve_forever()


def _exit_when_orphaned() -> None:
    """The parent holds the other end of standard input: when it closes (stop, or the parent's death, even by
    SIGKILL), the server goes too."""
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


class AwsServer:
    """The parent's handle on the local AWS process: ``start()`` returns its URL, ``stop()`` ends it."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, running the module above
            [sys.executable, "-m", __name__, "--host", self._host, "--port", str(self._port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
            cwd=ROOT,
            text=True,
            # Out of the terminal's process group: Ctrl-C goes to the stack, which stops the server itself (an
            # interrupt of its own would end it mid-request, and its reader of stdin at shutdown).
            start_new_session=True,
        )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = self._process.stdout.readline() if ready else ""
        if not line.startswith(READY):
            self.stop()
            raise RuntimeError(f"the local AWS server did not start (its errors are above): {line.strip()!r}")
        self._process.stdout.close()
        return f"http://{line.split()[1]}"

    def stop(self) -> None:
        """Close its input, which ends it; kill it if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port)


if __name__ == "__main__":
    main()
