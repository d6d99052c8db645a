"""Messages carry the correlation id of the work that made them (jevs.domain.correlation), and messages stored
before they did still read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jevs.domain import correlation
from jevs.domain.messages import OUTBOX_MESSAGE, MakeDocuments

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)


def test_a_message_made_for_a_request_carries_its_id_and_one_made_outside_none() -> None:
    with correlation.correlated("req-1"):
        inside = MakeDocuments(created_at=AT, certificate_number="11.0001.00001", version=1)
    outside = MakeDocuments(created_at=AT, certificate_number="11.0001.00001", version=1)

    assert (inside.correlation_id, outside.correlation_id, correlation.current()) == ("req-1", None, None)
    assert OUTBOX_MESSAGE.validate_json(inside.model_dump_json()) == inside


def test_a_message_stored_before_correlation_ids_reads_with_none() -> None:
    stored = (
        '{"kind": "certificate.documents", "created_at": "2026-12-07T11:00:00Z", '
        '"certificate_number": "11.0001.00001", "version": 1}'
    )

    assert OUTBOX_MESSAGE.validate_json(stored).correlation_id is None
