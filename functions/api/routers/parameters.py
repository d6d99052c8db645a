"""Parameters several routers share, with the documentation partners read in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

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
