"""What the local HTTP servers (the gateway, the China Customs simulator) and their console commands share."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from http.server import ThreadingHTTPServer
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)


class QuietThreadingServer(ThreadingHTTPServer):
    """A thread per connection (daemon threads, so a stalled client never blocks the process's exit) that
    logs a client hanging up mid-answer as the routine event it is, instead of printing a traceback."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            logger.info("client %s went away", client_address[0])
            return
        super().handle_error(request, client_address)


def log_to_console() -> None:
    """The local pieces' own log lines on stderr, with their time and origin."""
    local_log = logging.getLogger("infrastructure.local")
    local_log.setLevel(logging.INFO)
    log_handler = logging.StreamHandler(sys.stderr)
    log_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    local_log.addHandler(log_handler)


def stop_on_signal() -> threading.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM. Install it before starting anything, so a signal during
    start-up still ends in a clean stop."""
    stopping = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stopping
