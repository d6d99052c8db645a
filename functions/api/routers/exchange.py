"""``/v1/exchange/nz-customs/files``: NZ Customs' data files in the exchange bucket (certificate versions, its
export entries' results, China's preference decisions), listed by when they were written, and each read as the
JSON it is (DESIGN.md §5). NZ Customs only; everyone else 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import AwareDatetime, Field

from functions.api.edge import caller, dependencies
from functions.api.models import ApiModel
from functions.api.routers.parameters import IsoInstant
from jevs.domain.errors import FieldError, RuleViolation
from jevs.service.exchange import MAX_PAGE_SIZE, ExchangeFile, FileKind, ListExchangeFiles
from jevs.service.exchange import list_exchange_files as list_files
from jevs.service.exchange import read_exchange_file as read_file

router = Router()  # type: ignore[no-untyped-call]

FILES_PATH = "/v1/exchange/nz-customs/files"


class ExchangeFileOut(ApiModel):
    """One data file: where it is in the exchange bucket, what it holds, and where to read it through the API."""

    id: str = Field(description="The file's id in `GET /v1/exchange/nz-customs/files/{id}`.")
    key: str = Field(description="Its key in the exchange bucket (for NZ Customs' cross-account role).")
    kind: FileKind
    size: int = Field(description="Bytes.")
    last_modified: AwareDatetime
    href: str


class ExchangeFileList(ApiModel):
    items: list[ExchangeFileOut]
    next_cursor: str | None = Field(description="Pass as `cursor` with the same `since` for the next page.")


def _render(found: ExchangeFile) -> ExchangeFileOut:
    return ExchangeFileOut(
        id=found.file_id,
        key=found.key,
        kind=found.kind,
        size=found.size,
        last_modified=found.last_modified,
        href=f"{FILES_PATH}/{found.file_id}",
    )


@router.get(
    FILES_PATH,
    operation_id="listExchangeFiles",
    summary="NZ Customs: its data files written at or after `since`, cursor-paged",
    description="Files in key order (certificates, declaration results, preference decisions); a page may hold "
    "fewer than `limit` files and still carry `next_cursor`: page until there is none. Each file is read at its "
    "`href` (the JSON as filed).",
    tags=["exchange"],
    responses={200: {"description": "A page of files", "content": {"application/json": {"model": ExchangeFileList}}}},
)
def list_nz_customs_files(
    since: Annotated[IsoInstant, Query(description="An ISO 8601 instant with its offset: files written since.")],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ExchangeFileList:
    party = caller(router)
    if since.tzinfo is None:
        raise RuleViolation([FieldError("query.since", "an instant with its offset, e.g. 2026-11-30T00:00:00Z")])
    page = list_files(ListExchangeFiles(party, since, limit, cursor), dependencies(router).exchange)
    return ExchangeFileList(items=[_render(found) for found in page.files], next_cursor=page.next_cursor)


@router.get(
    f"{FILES_PATH}/<file_id>",
    operation_id="readExchangeFile",
    summary="NZ Customs: one of its data files, the JSON as filed",
    description="One of NZ Customs' data files, the JSON exactly as filed.",
    tags=["exchange"],
    responses={
        200: {
            "description": "The file",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "By the listing's `kind`: `certificate`, the version's data elements exactly as "
                        "China Customs receives them (the `certificate` of a China message, with its status, validity "
                        "and printed remarks); `declaration_result`, the result of an export entry; "
                        "`preference_decision`, China Customs' decision on an import declaration.",
                    }
                }
            },
        }
    },
)
def read_nz_customs_file(  # type: ignore[no-untyped-def]
    file_id: Annotated[str, Path(max_length=1024, description="The `id` the listing gave.")],
):
    # No return annotation on purpose: the bytes go out as filed, not re-serialised through a model.
    # The bytes as filed: NZ Customs may compare them with what it read from the bucket.
    _kind, body = read_file(caller(router), file_id, dependencies(router).exchange)
    return Response(200, "application/json", body.decode())
