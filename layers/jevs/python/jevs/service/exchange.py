"""NZ Customs' data files (DESIGN.md §5, ``GET /v1/exchange/nz-customs/files``): every file JEVS wrote for it in the
exchange bucket (certificate versions, its export entries' match results, China's preference decisions), listed
by when they were written and read one by one.

The bucket is the record of what was filed, so the listing reads the bucket itself: its objects under NZ Customs'
prefix in key order, those written at or after ``since`` kept. A cursor carries the last key it examined and the
``since`` it was made for, so it is not replayed against another listing. Each request examines a bounded number
of keys; a page may then hold fewer files than asked (even none) and still carry a cursor: a partner pages until
there is no cursor. NZ Customs may also read the same prefix straight from S3 with its cross-account role.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from jevs.domain.errors import NotFound
from jevs.domain.parties import Party, PartyType
from jevs.resources import (
    NZ_CUSTOMS_CERTIFICATES_PREFIX,
    NZ_CUSTOMS_PREFERENCES_PREFIX,
    NZ_CUSTOMS_PREFIX,
    NZ_CUSTOMS_RESULTS_PREFIX,
)
from jevs.service.ports import ObjectListing, ObjectStore, StoredObject
from jevs.service.unit_of_work import InvalidCursor, cursor_document

MAX_PAGE_SIZE = 100
# What one request examines at most: S3 lists 1000 keys a call, so at most this many calls per request.
MAX_KEYS_EXAMINED = 5000
_KEYS_PER_CALL = 1000


class FileKind(StrEnum):
    CERTIFICATE = "certificate"
    DECLARATION_RESULT = "declaration_result"
    PREFERENCE_DECISION = "preference_decision"


_KIND_OF_PREFIX = {
    NZ_CUSTOMS_CERTIFICATES_PREFIX: FileKind.CERTIFICATE,
    NZ_CUSTOMS_RESULTS_PREFIX: FileKind.DECLARATION_RESULT,
    NZ_CUSTOMS_PREFERENCES_PREFIX: FileKind.PREFERENCE_DECISION,
}


def kind_of(key: str) -> FileKind | None:
    """What a key under NZ Customs' prefix holds, or None for anything else."""
    return next((kind for prefix, kind in _KIND_OF_PREFIX.items() if key.startswith(prefix)), None)


@dataclass(frozen=True)
class ExchangeFile:
    key: str
    kind: FileKind
    size: int
    last_modified: datetime

    @property
    def file_id(self) -> str:
        """The file's id in the API's path: its key under NZ Customs' prefix, base64url (keys hold slashes)."""
        relative = self.key.removeprefix(NZ_CUSTOMS_PREFIX)
        return base64.urlsafe_b64encode(relative.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class ExchangePage:
    files: Sequence[ExchangeFile]
    next_cursor: str | None


@dataclass(frozen=True)
class ListExchangeFiles:
    party: Party
    since: datetime
    limit: int
    cursor: str | None


def _nz_customs_only(party: Party) -> None:
    # Everyone else is told there is nothing here (DESIGN.md §1: 404, not 403).
    if party.type is not PartyType.NZ_CUSTOMS:
        raise NotFound("exchange files")


def _encode(after: str, since: datetime) -> str:
    raw = json.dumps({"after": after, "since": since.isoformat()}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, since: datetime) -> str:
    decoded = cursor_document(cursor)
    try:
        if not isinstance(decoded, dict):
            raise TypeError("a cursor is an object")
        after, made_for = decoded["after"], datetime.fromisoformat(decoded["since"])
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidCursor("this cursor was not issued by this listing") from error
    if not isinstance(after, str) or not after.startswith(NZ_CUSTOMS_PREFIX) or made_for != since:
        raise InvalidCursor("this cursor was issued for another listing")
    return after


def list_exchange_files(command: ListExchangeFiles, listing: ObjectListing) -> ExchangePage:
    """NZ Customs' files written at or after ``since``, in key order, ``limit`` at most per page."""
    _nz_customs_only(command.party)
    limit = max(1, min(command.limit, MAX_PAGE_SIZE))
    after = _decode(command.cursor, command.since) if command.cursor else None
    files: list[ExchangeFile] = []
    examined = 0
    while examined < MAX_KEYS_EXAMINED:
        page = listing.list_after(NZ_CUSTOMS_PREFIX, after, _KEYS_PER_CALL)
        for stored in page.objects:
            examined += 1
            after = stored.key
            found = _file(stored, command.since)
            if found is not None:
                files.append(found)
                if len(files) == limit:
                    more = page.truncated or stored is not page.objects[-1]
                    return ExchangePage(files, _encode(after, command.since) if more else None)
        if not page.truncated or not page.objects:
            return ExchangePage(files, None)
    assert after is not None  # keys were examined
    return ExchangePage(files, _encode(after, command.since))


def _file(stored: StoredObject, since: datetime) -> ExchangeFile | None:
    kind = kind_of(stored.key)
    if kind is None or stored.last_modified < since:
        return None
    return ExchangeFile(stored.key, kind, stored.size, stored.last_modified)


def read_exchange_file(party: Party, file_id: str, files: ObjectStore) -> tuple[FileKind, bytes]:
    """One of NZ Customs' files by the id its listing gave; 404 for anyone else, or an id naming no file."""
    _nz_customs_only(party)
    try:
        relative = base64.urlsafe_b64decode(file_id + "=" * (-len(file_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound(f"exchange file {file_id}") from None
    key = f"{NZ_CUSTOMS_PREFIX}{relative}"
    kind = kind_of(key)
    body = files.get(key) if kind is not None and ".." not in relative.split("/") else None
    if kind is None or body is None:
        raise NotFound(f"exchange file {file_id}")
    return kind, body
