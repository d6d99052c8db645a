"""Every log line written while a test runs, as it would be written: a function's records formatted by its
Powertools formatter (the JSON each Lambda function sends to CloudWatch, exception and all), the local pieces'
by a plain formatter with their tracebacks. For the tests that hold logs to DESIGN.md §1: ids and outcomes,
never commercial content."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter

from jevs.resources import FUNCTIONS

_PLAIN = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")


def _formatter(name: str) -> logging.Formatter:
    """The formatter of the first Powertools handler on the logger ``name`` or a parent of it, else a plain one."""
    found: logging.Logger | None = logging.getLogger(name)
    while found is not None:
        for handler in found.handlers:
            if isinstance(handler.formatter, BasePowertoolsFormatter):
                return handler.formatter
        found = found.parent if found.propagate else None
    return _PLAIN


class LogLines(logging.Handler):
    """Collects each record that reaches the root logger, formatted as its own handler would print it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(_formatter(record.name).format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def log_lines(level: int = logging.INFO) -> Iterator[LogLines]:
    """Collect every line logged meanwhile at ``level`` or above (INFO: the functions' level in AWS, where
    Powertools' default holds), the functions' loggers set to it for the while (the quiet local stack raises
    them to WARNING)."""
    loggers = [logging.getLogger(definition.name) for definition in FUNCTIONS]
    loggers.append(logging.getLogger("infrastructure.local"))
    levels = [each.level for each in loggers]
    collected = LogLines()
    root = logging.getLogger()
    root.addHandler(collected)
    for each in loggers:
        each.setLevel(level)
    try:
        yield collected
    finally:
        root.removeHandler(collected)
        for each, before in zip(loggers, levels, strict=True):
            each.setLevel(before)
