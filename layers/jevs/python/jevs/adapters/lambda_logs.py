"""What a function's log lines say about the work they are for: the correlation id of the request that caused it,
and a failure by what it is, never by what it says (DESIGN.md §1: logs carry ids and outcomes, not commercial
content). An exception's message may quote a record (a pydantic ``ValidationError`` quotes every input it refused,
a parsed record that fails its model is the whole message body), so the log names the error's type and where it
was raised, and for a validation error each field's path and kind of error."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aws_lambda_powertools import Logger

from jevs.domain import correlation


def failure_fields(error: BaseException) -> dict[str, object]:
    """What a log line may say about ``error``: its type, where it was raised, and for a validation error the
    path and type of each problem (``loc``/``type``), never its message or the values it refused."""
    fields: dict[str, object] = {"error_type": type(error).__name__}
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        raised = frames[-1]
        fields["error_at"] = f"{Path(raised.filename).name}:{raised.lineno} in {raised.name}"
    # A validation error is pydantic's, and exists only once pydantic is loaded: the outbox relay, which never
    # loads it (its import would be a fifth of the relay's cold start), has none to describe.
    validation_error = getattr(sys.modules.get("pydantic_core"), "ValidationError", None)
    if validation_error is not None and isinstance(error, validation_error):
        fields["errors"] = [
            {"loc": ".".join(str(part) for part in problem["loc"]), "type": problem["type"]}
            for problem in error.errors(include_url=False, include_input=False, include_context=False)
        ]
    return fields


@contextmanager
def correlating(logger: Logger, correlation_id: str | None) -> Iterator[None]:
    """The work inside is for the request ``correlation_id``: the logger's lines carry it as their correlation id,
    and the messages it writes carry it on (``jevs.domain.correlation``)."""
    if correlation_id is None:
        logger.remove_keys(["correlation_id"])
    else:
        logger.set_correlation_id(correlation_id)
    try:
        with correlation.correlated(correlation_id):
            yield
    finally:
        logger.remove_keys(["correlation_id"])
