"""AWS round trips per operation (DESIGN.md §8), counted by a botocore hook on every client of the real adapters
against moto: a submission is one DynamoDB write and one KMS signature (its history event's seal), a replay one
read more, whatever the certificate's size or the table's; a declaration costs the same to lodge and to match at
one line as at the most a declaration may have; no listing scans. The whole table is benchmarks/round_trips.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from infrastructure.local import moto_speedup
from infrastructure.local.provision import Provisioned
from jevs.domain.access import ListingConstraints, issue_years
from jevs.domain.declarations import MAX_LINES
from jevs.resources import DECLARATIONS_QUEUE, DELIVERY_QUEUE
from tests.factories import CN_CUSTOMS, ISSUING_BODY, NZ_CUSTOMS, OPS, today_in_new_zealand
from tests.integration.conftest import CHINA_CUSTOMS_ENDPOINT
from tests.integration.round_trips_support import RoundTrips, china_simulator, listed, lodge, submit

pytestmark = pytest.mark.integration

# Every signature and seal is one KMS Sign; a submission's history event has one.
SUBMISSION = Counter({"DynamoDB.TransactWriteItems": 1, "KMS.Sign": 1})
FIRST_SIGNATURE = Counter({"KMS.GetPublicKey": 1})
# The example declaration's number (tests.factories.declaration_payload).
DECLARATION_NUMBER = "223320261000123456"


@pytest.fixture
def trips(aws_resources: Provisioned) -> Iterator[RoundTrips]:
    """Every function over counted clients, new: no container has signed anything yet; moto as the local stack
    runs it (``round_trips_support.provisioned``), which counts the same calls a hundred certificates sooner."""
    with moto_speedup.applied():
        yield RoundTrips(aws_resources, CHINA_CUSTOMS_ENDPOINT)


def stored_certificates(trips: RoundTrips, count: int) -> None:
    for serial in range(count):
        submit(trips, f"11.1234.{serial:05d}")
    trips.taken()


@pytest.mark.parametrize(("items", "stored"), [(1, 0), (20, 0), (1, 100)])
def test_a_submission_is_one_write_and_one_seal_whatever_its_items_or_the_table(
    trips: RoundTrips, items: int, stored: int
) -> None:
    stored_certificates(trips, stored)

    submit(trips, items=items)

    # A container's first signature reads the key's public half (its ARN and kid), once (per KmsSigner.REFRESH).
    assert trips.taken() == SUBMISSION + (FIRST_SIGNATURE if stored == 0 else Counter())


def test_a_replay_is_the_write_attempt_and_one_read_in_a_table_of_a_hundred(trips: RoundTrips) -> None:
    stored_certificates(trips, 100)
    submit(trips, items=20, key="key-1")
    trips.taken()

    submit(trips, items=20, key="key-1")

    assert trips.taken() == SUBMISSION + Counter({"DynamoDB.GetItem": 1})


# -- declarations ------------------------------------------------------------------------------------------------


def test_delivering_a_certificate_reads_its_delivery_the_circuit_and_its_record_once_each(
    aws_resources: Provisioned,
) -> None:
    with china_simulator(aws_resources) as china:
        delivered_once(RoundTrips(aws_resources, china.endpoint_url))


def delivered_once(trips: RoundTrips) -> None:
    submit(trips)
    trips.relay()
    trips.consume(DELIVERY_QUEUE)  # the dispatcher's container signs its first message: its key's public half read
    submit(trips, "11.1234.00002")
    trips.relay()
    trips.taken()

    assert trips.consume(DELIVERY_QUEUE) == 1

    # The message signed for China and the history event sealed; the delivery, the event and the new head in one
    # write. A closed circuit that China's answer leaves as it was is not read again (it was read twice).
    assert trips.taken() == Counter({"DynamoDB.GetItem": 3, "DynamoDB.TransactWriteItems": 1, "KMS.Sign": 2})


def test_relaying_a_stream_batch_is_one_send_per_queue_and_one_write_however_many_certificates(
    trips: RoundTrips,
) -> None:
    for serial in range(3):
        submit(trips, f"11.1234.{serial:05d}")
    trips.taken()

    relayed = trips.relay(together=True)

    # Three certificates' outbox records: each one's delivery, documents and declarations awaiting it, on three
    # queues; one record at a time they were nine SendMessage and nine UpdateItem calls.
    assert relayed == 9
    assert trips.taken() == Counter({"SQS.SendMessageBatch": 3, "DynamoDB.TransactWriteItems": 1})


@pytest.fixture
def issued(trips: RoundTrips) -> RoundTrips:
    """The certificate declarations quote, its messages relayed and the matcher's look for waiting declarations
    done, so that what follows counts one declaration's work only."""
    submit(trips, items=20)
    trips.relay()
    trips.consume(DECLARATIONS_QUEUE)
    trips.taken()
    return trips


@pytest.mark.parametrize("lines", [1, MAX_LINES])
def test_lodging_a_declaration_is_one_write_however_many_lines(issued: RoundTrips, lines: int) -> None:
    lodge(issued, lines)

    assert issued.taken() == Counter({"DynamoDB.TransactWriteItems": 1})


@pytest.mark.parametrize("lines", [1, MAX_LINES])
@pytest.mark.parametrize("client_id", [CN_CUSTOMS, NZ_CUSTOMS])
def test_matching_a_declaration_reads_three_records_and_writes_once_however_many_lines(
    issued: RoundTrips, lines: int, client_id: str
) -> None:
    # Given a declaration of one line, or of as many as a declaration may have, lodged and relayed
    lodge(issued, lines, client_id=client_id)
    issued.relay()
    issued.taken()

    # When the matching function decides it
    assert issued.consume(DECLARATIONS_QUEUE) == 1

    # Then it read the declaration, the certificate and its ledger, and wrote one transaction with one sealed event
    # (the matcher's first: it read its key once)
    decided = Counter({"DynamoDB.GetItem": 3, "DynamoDB.TransactWriteItems": 1, "KMS.Sign": 1})
    assert issued.taken() == decided + FIRST_SIGNATURE
    prefix = "CNIM" if client_id == CN_CUSTOMS else "NZEX"
    declaration = issued.call_api("GET", f"/v1/declarations/{prefix}-{DECLARATION_NUMBER}", client_id=client_id)
    assert declaration["json"]["status"] == "MATCHED"


# -- listings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "client_id", "query"),
    [
        ("/v1/certificates", ISSUING_BODY, {}),
        ("/v1/certificates", CN_CUSTOMS, {}),
        ("/v1/verification-requests", NZ_CUSTOMS, {}),
    ],
)
def test_a_listing_by_its_party_is_one_query(
    issued: RoundTrips, path: str, client_id: str, query: dict[str, str]
) -> None:
    listed(issued, path, client_id, **query)

    assert issued.taken() == Counter({"DynamoDB.Query": 1})


@pytest.mark.parametrize("client_id", [OPS, NZ_CUSTOMS])
def test_a_listing_of_every_certificate_queries_each_issue_year_at_most_once_and_never_scans(
    issued: RoundTrips, client_id: str
) -> None:
    # Fewer certificates than a page: the listing walks every year a certificate can be dated in, once each.
    years = len(issue_years(ListingConstraints(), today_in_new_zealand()))

    listed(issued, "/v1/certificates", client_id)

    assert issued.taken() == Counter({"DynamoDB.Query": years})


def test_a_full_page_stops_querying_at_the_year_that_filled_it(issued: RoundTrips) -> None:
    stored_certificates(issued, 3)

    listed(issued, "/v1/certificates", OPS, limit="2")

    assert issued.taken() == Counter({"DynamoDB.Query": 1})
