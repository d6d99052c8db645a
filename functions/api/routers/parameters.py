"""Parameters several routers share, with the documentation partners read in the OpenAPI document."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import BeforeValidator

from jevs.service.registrations import MAX_PAGE_SIZE

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A key the client makes per request: a retry with the same key and body gets the first answer.",
    ),
]
CertificateNumberPath = Annotated[
    str,
    Path(
        max_length=32,
        description="NN.NNNN.NNNNN, or the COO form NZ export entries quote.",
        examples=["11.1234.12345"],
    ),
]
# A page of a listing: how many records at most, and where it starts (the cursor the page before gave).
DEFAULT_PAGE_SIZE = 50
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE}.")]
PageCursor = Annotated[str | None, Query(max_length=2048, description="The previous page's next_cursor.")]
RecordIdPath = Annotated[str, Path(max_length=64, description="The id the lodgement answered.")]


def _iso_date(value: object) -> object:
    # pydantic reads a number ("0.0", "1700000000") as a Unix time: the document says YYYY-MM-DD, so is that only.
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is YYYY-MM-DD")
    return value


# A date in a query string: ISO 8601's YYYY-MM-DD, as the document says, and nothing pydantic would also take.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _iso_instant(value: object) -> object:
    if isinstance(value, str) and not re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T", value):
        raise ValueError("an instant is ISO 8601: YYYY-MM-DDThh:mm:ss with its offset")
    return value


# An instant in a query string: ISO 8601, never a number read as a Unix time.
IsoInstant = Annotated[datetime, BeforeValidator(_iso_instant)]
