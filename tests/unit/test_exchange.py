"""NZ Customs' files, listed and read (``jevs.service.exchange``): only NZ Customs sees them; files written before
``since`` are left out; a cursor resumes after the last key examined and only for the listing it was made for;
an id names a file under NZ Customs' prefix or nothing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from jevs.domain.errors import NotFound
from jevs.service import exchange
from jevs.service.exchange import FileKind, ListExchangeFiles, list_exchange_files, read_exchange_file
from jevs.service.ports import ObjectPage, StoredObject
from jevs.service.unit_of_work import InvalidCursor
from tests.factories import CN_CUSTOMS, NZ_CUSTOMS
from tests.unit.support import party

pytestmark = pytest.mark.unit

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


class Bucket:
    """Objects in key order, listed as S3 lists them."""

    def __init__(self, objects: dict[str, datetime]) -> None:
        self.objects = dict(sorted(objects.items()))
        self.calls = 0

    def list_after(self, prefix: str, start_after: str | None, max_keys: int) -> ObjectPage:
        self.calls += 1
        keys = [key for key in self.objects if key.startswith(prefix) and (start_after is None or key > start_after)]
        listed = [StoredObject(key, 2, self.objects[key]) for key in keys[:max_keys]]
        return ObjectPage(listed, len(keys) > max_keys)

    def put(self, key: str, body: bytes, content_type: str) -> None:
        raise AssertionError("listing writes nothing")

    def get(self, key: str) -> bytes | None:
        return b"{}" if key in self.objects else None

    def exists(self, key: str) -> bool:
        return key in self.objects


def listing(
    bucket: Bucket, limit: int = 100, cursor: str | None = None, since: datetime = SINCE
) -> exchange.ExchangePage:
    return list_exchange_files(ListExchangeFiles(party(NZ_CUSTOMS), since, limit, cursor), bucket)


def test_files_written_before_since_and_other_keys_are_left_out() -> None:
    bucket = Bucket(
        {
            "nz-customs/certificates/11.2026.00001/v1.json": SINCE - timedelta(seconds=1),
            "nz-customs/certificates/11.2026.00002/v1.json": SINCE,
            "nz-customs/elsewhere/x.json": SINCE,
        }
    )

    page = listing(bucket)

    assert [(found.key, found.kind) for found in page.files] == [
        ("nz-customs/certificates/11.2026.00002/v1.json", FileKind.CERTIFICATE)
    ]
    assert page.next_cursor is None


def test_pages_follow_each_other_through_the_cursor_without_gaps_or_repeats() -> None:
    keys = [f"nz-customs/declaration-results/NZEX-{serial}.json" for serial in range(5)]
    bucket = Bucket(dict.fromkeys(keys, SINCE))

    first = listing(bucket, limit=2)
    second = listing(bucket, limit=2, cursor=first.next_cursor)
    third = listing(bucket, limit=2, cursor=second.next_cursor)

    assert [found.key for found in [*first.files, *second.files, *third.files]] == keys
    assert third.next_cursor is None


def test_a_page_stops_at_the_examined_bound_and_carries_a_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchange, "MAX_KEYS_EXAMINED", 4)
    monkeypatch.setattr(exchange, "_KEYS_PER_CALL", 2)
    old = {f"nz-customs/certificates/11.2026.{serial:05d}/v1.json": SINCE - timedelta(days=1) for serial in range(6)}
    bucket = Bucket({**old, "nz-customs/preference-decisions/11.2026.99999/CNIM-1.json": SINCE})

    first = listing(bucket)
    calls_for_the_first_page = bucket.calls
    rest = listing(bucket, cursor=first.next_cursor)

    # Two calls of two keys each reach the bound: an empty page, and a cursor that goes on from there
    assert (first.files, calls_for_the_first_page) == ([], 2)
    assert [found.kind for found in rest.files] == [FileKind.PREFERENCE_DECISION]
    assert rest.next_cursor is None


def test_a_cursor_made_for_another_since_is_refused() -> None:
    bucket = Bucket(dict.fromkeys([f"nz-customs/declaration-results/{n}.json" for n in range(3)], SINCE))
    first = listing(bucket, limit=1)

    with pytest.raises(InvalidCursor):
        listing(bucket, cursor=first.next_cursor, since=SINCE + timedelta(days=1))


def test_a_cursor_that_is_not_one_of_ours_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        listing(Bucket({}), cursor="bm90LWEtY3Vyc29y")


def test_nobody_but_nz_customs_lists_its_files() -> None:
    with pytest.raises(NotFound):
        list_exchange_files(ListExchangeFiles(party(CN_CUSTOMS), SINCE, 10, None), Bucket({}))


def test_a_file_is_read_by_the_id_its_listing_gave() -> None:
    key = "nz-customs/preference-decisions/11.2026.00001/CNIM-1.json"
    bucket = Bucket({key: SINCE})
    (listed,) = listing(bucket).files

    assert read_exchange_file(party(NZ_CUSTOMS), listed.file_id, bucket) == (FileKind.PREFERENCE_DECISION, b"{}")


@pytest.mark.parametrize("relative", ["../certificates/11.2026.00001/v1.pdf", "elsewhere/x.json", "certificates/none"])
def test_an_id_naming_no_file_of_nz_customs_is_not_found(relative: str) -> None:
    file_id = base64.urlsafe_b64encode(relative.encode()).decode().rstrip("=")

    with pytest.raises(NotFound):
        read_exchange_file(party(NZ_CUSTOMS), file_id, Bucket({"nz-customs/elsewhere/x.json": SINCE}))
