"""Box 5 through the API function and the notifier against moto (DESIGN.md §3, §5): China Customs records a
preference decision on one of its import declarations, the parties involved read it, NZ Customs finds its data
file in the exchange bucket and reads it through ``/v1/exchange/nz-customs/files``."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from infrastructure.local.functions import FunctionSet
from infrastructure.local.provision import Provisioned
from jevs.domain.messages import FilePreferenceDecision
from jevs.resources import nz_customs_preference_key
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    NZ_CUSTOMS,
    OPS,
    OTHER_EXPORTER,
    LambdaContext,
    sqs_event,
)
from tests.integration.conftest import ApiCall, emitted_metrics
from tests.integration.declarations_support import lodge, partition_outbox, submit_certificate
from tests.problems import problem_type

pytestmark = pytest.mark.integration

NUMBER = "11.1234.12345"
DECLARATION = "223320261000123456"
CN_ID = f"CNIM-{DECLARATION}"
PATH = f"/v1/certificates/{NUMBER}/preference-decisions"
NOT_GIVEN = {
    "declaration_number": DECLARATION,
    "decision": "NOT_GIVEN",
    "reasons": [{"code": "DOCUMENTARY_DISCREPANCY", "text": "The invoice number differs from the certificate's."}],
}
_keys = itertools.count(1)


@pytest.fixture
def declared(call_api: ApiCall) -> None:
    submit_certificate(call_api)
    assert lodge(call_api)["statusCode"] == 202


def decide(call_api: ApiCall, body: dict[str, Any], client_id: str = CN_CUSTOMS, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key or f"p-{next(_keys)}"}
    return call_api("POST", PATH, body=body, client_id=client_id, headers=headers)


def run_notifier(functions: FunctionSet) -> dict[str, Any]:
    event = sqs_event(partition_outbox(f"CERTIFICATE#{NUMBER}", FilePreferenceDecision))
    result: dict[str, Any] = functions.notifier(event, LambdaContext("jevs-notifier"))
    return result


@pytest.mark.usefixtures("declared")
def test_china_customs_records_a_decision_and_gets_it_back(call_api: ApiCall) -> None:
    response = decide(call_api, NOT_GIVEN)

    assert response["statusCode"] == 201, response
    assert response["headers"]["location"] == PATH
    body = response["json"]
    assert (body["decision"], body["declaration_id"], body["decided_by"]) == ("NOT_GIVEN", CN_ID, "cn-customs")
    assert body["reasons"] == NOT_GIVEN["reasons"]


@pytest.mark.usefixtures("declared")
def test_the_same_request_again_gets_the_first_answer(call_api: ApiCall) -> None:
    first = decide(call_api, NOT_GIVEN, key="same")

    again = decide(call_api, NOT_GIVEN, key="same")

    assert again["statusCode"] == 201
    assert again["headers"]["idempotent-replayed"] == "true"
    assert again["json"] == first["json"]


@pytest.mark.usefixtures("declared")
def test_a_second_decision_for_the_same_declaration_is_409(call_api: ApiCall) -> None:
    decide(call_api, {"declaration_number": DECLARATION, "decision": "GIVEN"})

    response = decide(call_api, NOT_GIVEN)

    assert response["statusCode"] == 409
    assert response["json"]["type"] == problem_type("preference-already-decided")


@pytest.mark.usefixtures("declared")
def test_not_given_without_reasons_is_422_naming_reasons(call_api: ApiCall) -> None:
    response = decide(call_api, {"declaration_number": DECLARATION, "decision": "NOT_GIVEN", "reasons": []})

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["reasons"]


@pytest.mark.usefixtures("declared")
def test_a_declaration_that_does_not_quote_the_certificate_is_422_naming_it(call_api: ApiCall) -> None:
    response = decide(call_api, NOT_GIVEN | {"declaration_number": "223320269999999999"})

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["declaration_number"]


@pytest.mark.usefixtures("declared")
def test_an_unknown_reason_code_is_422(call_api: ApiCall) -> None:
    response = decide(call_api, NOT_GIVEN | {"reasons": [{"code": "PRICE", "text": "too cheap"}]})

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["reasons[0].code"]


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize("client_id", [EXPORTER, ISSUING_BODY, NZ_CUSTOMS, OPS])
def test_anyone_but_china_customs_recording_gets_404(call_api: ApiCall, client_id: str) -> None:
    assert decide(call_api, NOT_GIVEN, client_id=client_id)["statusCode"] == 404


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize("client_id", [EXPORTER, ISSUING_BODY, NZ_CUSTOMS, CN_CUSTOMS])
def test_the_parties_involved_read_the_decisions(call_api: ApiCall, client_id: str) -> None:
    decide(call_api, NOT_GIVEN)

    response = call_api("GET", PATH, client_id=client_id)

    assert response["statusCode"] == 200
    assert [decision["declaration_id"] for decision in response["json"]["decisions"]] == [CN_ID]


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize("client_id", [OTHER_EXPORTER, OPS])
def test_a_party_not_involved_reading_gets_404(call_api: ApiCall, client_id: str) -> None:
    decide(call_api, NOT_GIVEN)

    assert call_api("GET", PATH, client_id=client_id)["statusCode"] == 404


@pytest.mark.usefixtures("declared")
def test_the_decision_is_in_the_certificates_history(call_api: ApiCall) -> None:
    decide(call_api, NOT_GIVEN)

    history = call_api("GET", f"/v1/certificates/{NUMBER}/history", client_id=NZ_CUSTOMS)["json"]

    assert history["chain"]["valid"]
    assert history["events"][-1]["type"] == "PREFERENCE_DECIDED"


@pytest.mark.usefixtures("declared")
def test_nz_customs_lists_and_reads_the_decisions_data_file(
    call_api: ApiCall, functions: FunctionSet, aws_resources: Provisioned
) -> None:
    recorded = decide(call_api, NOT_GIVEN)["json"]
    assert run_notifier(functions) == {"batchItemFailures": []}
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

    listing = call_api("GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query={"since": since})

    assert listing["statusCode"] == 200, listing
    (entry,) = [item for item in listing["json"]["items"] if item["kind"] == "preference_decision"]
    assert entry["key"] == nz_customs_preference_key(NUMBER, CN_ID)
    read = call_api("GET", entry["href"], client_id=NZ_CUSTOMS)
    assert read["statusCode"] == 200
    assert read["json"] == recorded


@pytest.mark.usefixtures("declared")
def test_files_written_before_since_are_not_listed(call_api: ApiCall, functions: FunctionSet) -> None:
    decide(call_api, NOT_GIVEN)
    run_notifier(functions)
    since = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()

    listing = call_api("GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query={"since": since})

    assert listing["json"] == {"items": [], "next_cursor": None}


@pytest.mark.usefixtures("declared")
@pytest.mark.parametrize("client_id", [CN_CUSTOMS, EXPORTER, ISSUING_BODY, OPS])
def test_only_nz_customs_lists_its_files(call_api: ApiCall, client_id: str) -> None:
    query = {"since": "2026-01-01T00:00:00Z"}

    assert call_api("GET", "/v1/exchange/nz-customs/files", client_id=client_id, query=query)["statusCode"] == 404


def test_nz_customs_pages_through_its_files_with_the_cursor(call_api: ApiCall, aws_resources: Provisioned) -> None:
    s3 = boto3.client("s3")
    keys = [
        "nz-customs/certificates/11.1234.00001/v1.json",
        "nz-customs/declaration-results/NZEX-1.json",
        "nz-customs/preference-decisions/11.1234.00001/CNIM-1.json",
    ]
    for key in keys:
        s3.put_object(Bucket=aws_resources.exchange_bucket, Key=key, Body=b"{}")
    query = {"since": "2026-01-01T00:00:00+00:00", "limit": "2"}

    first = call_api("GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query=query)["json"]
    second = call_api(
        "GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query=query | {"cursor": first["next_cursor"]}
    )["json"]

    assert [item["key"] for item in first["items"] + second["items"]] == keys
    assert [item["kind"] for item in first["items"] + second["items"]] == [
        "certificate",
        "declaration_result",
        "preference_decision",
    ]
    assert second["next_cursor"] is None


def test_a_cursor_made_for_another_since_is_refused(call_api: ApiCall, aws_resources: Provisioned) -> None:
    s3 = boto3.client("s3")
    for number in ("1", "2"):
        s3.put_object(
            Bucket=aws_resources.exchange_bucket, Key=f"nz-customs/declaration-results/{number}.json", Body=b"{}"
        )
    query = {"since": "2026-01-01T00:00:00+00:00", "limit": "1"}
    first = call_api("GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query=query)["json"]

    response = call_api(
        "GET",
        "/v1/exchange/nz-customs/files",
        client_id=NZ_CUSTOMS,
        query={"since": "2026-02-01T00:00:00+00:00", "cursor": first["next_cursor"]},
    )

    assert response["statusCode"] == 400


def test_an_id_outside_nz_customs_files_is_404(call_api: ApiCall, aws_resources: Provisioned) -> None:
    # "../certificates/x.pdf" under the prefix would leave NZ Customs' files for the documents.
    file_id = base64.urlsafe_b64encode(b"../certificates/x.pdf").decode().rstrip("=")

    assert call_api("GET", f"/v1/exchange/nz-customs/files/{file_id}", client_id=NZ_CUSTOMS)["statusCode"] == 404


def test_a_since_without_its_offset_is_422_naming_it(call_api: ApiCall) -> None:
    query = {"since": "2026-11-30T00:00:00"}

    response = call_api("GET", "/v1/exchange/nz-customs/files", client_id=NZ_CUSTOMS, query=query)

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["query.since"]


@pytest.mark.usefixtures("declared")
def test_a_decision_not_given_is_counted_once_per_reason_code(
    call_api: ApiCall, capsys: pytest.CaptureFixture[str]
) -> None:
    reasons = [
        {"code": "DOCUMENTARY_DISCREPANCY", "text": "The invoice number differs."},
        {"code": "ORIGIN_NOT_PROVEN", "text": "No cost statement."},
    ]
    capsys.readouterr()

    assert decide(call_api, NOT_GIVEN | {"reasons": reasons})["statusCode"] == 201

    counted = emitted_metrics(capsys.readouterr().out, "PreferenceNotGiven")
    assert sorted(document["reason_code"] for document in counted) == ["DOCUMENTARY_DISCREPANCY", "ORIGIN_NOT_PROVEN"]
    assert {document["service"] for document in counted} == {"jevs-api"}
    assert [document["PreferenceNotGiven"] for document in counted] == [[1.0], [1.0]]
