"""Declarations end to end through the functions (DESIGN.md §4, §5): lodged over the API, matched by the
matching function, the result readable by the declarant, kept on the certificate for its owner, in the
certificate's history, and on its way back to the declarant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infrastructure.local.functions import FunctionSet
from jevs.domain.declarations import MAX_LINES
from jevs.domain.messages import OUTBOX_MESSAGE, DeliverToChina, FileExportResult, MatchDeclaration
from jevs.domain.outbox import OutboxChannel
from jevs.resources import EXCHANGE_BUCKET
from jevs.service.documents import result_key
from tests.factories import (
    CN_CUSTOMS,
    EXPORTER,
    ISSUING_BODY,
    NZ_CUSTOMS,
    OTHER_EXPORTER,
    LambdaContext,
    declaration_payload,
    sqs_event,
)
from tests.integration.conftest import ApiCall
from tests.integration.declarations_support import lodge, outbox_bodies, run_matcher, run_notifier, submit_certificate
from tests.integration.round_trips_support import longest_lines
from tests.logs import log_lines
from tests.problems import problem_type

pytestmark = pytest.mark.integration

CN_ID = "CNIM-223320261000123456"


def test_a_lodged_declaration_is_received_and_read_by_its_declarant_only(call_api: ApiCall) -> None:
    response = lodge(call_api)

    assert response["statusCode"] == 202
    assert response["headers"]["location"] == f"/v1/declarations/{CN_ID}"
    assert response["json"]["status"] == "RECEIVED"
    assert response["json"]["declarant"] == "CN_IMPORT_DECLARATION"
    read = call_api("GET", f"/v1/declarations/{CN_ID}", client_id=CN_CUSTOMS)
    assert (read["statusCode"], read["json"]["status"]) == (200, "RECEIVED")
    for other in (NZ_CUSTOMS, ISSUING_BODY, EXPORTER):
        assert call_api("GET", f"/v1/declarations/{CN_ID}", client_id=other)["statusCode"] == 404


def test_only_customs_lodge_declarations(call_api: ApiCall) -> None:
    assert lodge(call_api, client_id=EXPORTER)["statusCode"] == 404
    assert lodge(call_api, client_id=ISSUING_BODY)["statusCode"] == 404


def test_the_same_declaration_sent_again_finds_the_first(call_api: ApiCall) -> None:
    first = lodge(call_api, key="k-1")
    replay = lodge(call_api, key="k-1")
    resent = lodge(call_api, key="k-2")
    changed = lodge(call_api, key="k-3", declared_on="2026-12-06")
    key_reused = lodge(call_api, key="k-1", declared_on="2026-12-06")

    assert (replay["statusCode"], replay["headers"]["idempotent-replayed"]) == (202, "true")
    assert (resent["statusCode"], resent["json"]["declaration_id"]) == (200, first["json"]["declaration_id"])
    # Other content under the same number is the declaration amended: its next revision, matched again.
    assert (changed["statusCode"], changed["json"]["revision"], changed["json"]["status"]) == (202, 2, "RECEIVED")
    assert key_reused["statusCode"] == 409
    assert key_reused["json"]["type"] == problem_type("idempotency-key-reused")


def test_an_invalid_declaration_is_refused_with_field_errors(call_api: ApiCall) -> None:
    bad_line = {**declaration_payload()["lines"][0], "hs_code": "04A2"}
    response = lodge(call_api, lines=[bad_line], unknown="x")

    assert response["statusCode"] == 422
    fields = {error["field"] for error in response["json"]["errors"]}
    assert any("hs_code" in field for field in fields)
    assert any("unknown" in field for field in fields)


def test_a_declaration_of_the_most_lines_at_their_longest_is_received(call_api: ApiCall) -> None:
    body = declaration_payload(
        exporter_name="E" * 140, importer_name="I" * 140, lines=longest_lines(MAX_LINES, "123456789.125")
    )

    response = lodge(call_api, **body)

    assert len(json.dumps(body).encode()) < 65_536
    assert (response["statusCode"], MAX_LINES) == (202, 250)


def test_a_declaration_of_one_line_more_is_refused_naming_its_lines(call_api: ApiCall) -> None:
    response = lodge(call_api, lines=longest_lines(MAX_LINES + 1, "123456789.125"))

    assert response["statusCode"] == 422
    assert [error["field"] for error in response["json"]["errors"]] == ["lines"]


def test_an_export_entry_may_quote_the_coo_form(call_api: ApiCall) -> None:
    submit_certificate(call_api)
    response = lodge(call_api, client_id=NZ_CUSTOMS, certificate_number="COO11123412345", declaration_number="EX1")

    assert response["statusCode"] == 202
    assert response["json"]["certificate_number"] == "11.1234.12345"
    assert response["json"]["declaration_id"] == "NZEX-EX1"


def test_a_matched_import_declaration_uses_the_certificate_in_one_decision(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    submit_certificate(call_api)
    lodge(call_api)

    assert run_matcher(functions, CN_ID) == {"batchItemFailures": []}

    result = call_api("GET", f"/v1/declarations/{CN_ID}", client_id=CN_CUSTOMS)["json"]
    assert (result["status"], result["discrepancies"]) == ("MATCHED", [])
    assert "decided_at" in result
    owner_view = call_api("GET", "/v1/certificates/11.1234.12345/match-results", client_id=EXPORTER)
    assert owner_view["json"]["usage"] == "USED"
    assert [(m["declaration_id"], m["status"]) for m in owner_view["json"]["matches"]] == [(CN_ID, "MATCHED")]
    assert call_api("GET", "/v1/certificates/11.1234.12345/match-results", client_id=ISSUING_BODY)["statusCode"] == 200
    for stranger in (OTHER_EXPORTER, CN_CUSTOMS, NZ_CUSTOMS):
        assert call_api("GET", "/v1/certificates/11.1234.12345/match-results", client_id=stranger)["statusCode"] == 404
    history = call_api("GET", "/v1/certificates/11.1234.12345/history", client_id=ISSUING_BODY)["json"]
    decided = history["events"][-1]
    assert decided["type"] == "DECLARATION_DECIDED"
    details = decided["details"]
    assert (details["declaration_id"], details["status"], details["usage"]) == (CN_ID, "MATCHED", "USED")
    assert history["chain"]["valid"]
    # The result goes back to China through the signed delivery channel, as a delivery of its own.
    (message,) = (OUTBOX_MESSAGE.validate_json(body) for body in outbox_bodies(CN_ID, DeliverToChina))
    assert isinstance(message, DeliverToChina)
    assert (message.channel, message.declaration_id) == (OutboxChannel.DELIVERY_TO_CHINA, CN_ID)
    assert (message.body.message_type, message.delivery_key) == ("declaration.result", f"{CN_ID}/result/1")


def test_a_second_import_declaration_finds_the_certificate_used(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    lodge(call_api)
    lodge(call_api, declaration_number="223320261000999999")
    run_matcher(functions, CN_ID)

    run_matcher(functions, "CNIM-223320261000999999")

    second = call_api("GET", "/v1/declarations/CNIM-223320261000999999", client_id=CN_CUSTOMS)["json"]
    assert second["status"] == "CERTIFICATE_ALREADY_USED"


def test_a_declaration_matched_twice_is_decided_once(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    lodge(call_api)

    run_matcher(functions, CN_ID)
    run_matcher(functions, CN_ID)

    history = call_api("GET", "/v1/certificates/11.1234.12345/history", client_id=ISSUING_BODY)["json"]
    assert [event["type"] for event in history["events"]].count("DECLARATION_DECIDED") == 1
    result = call_api("GET", f"/v1/declarations/{CN_ID}", client_id=CN_CUSTOMS)["json"]
    assert result["status"] == "MATCHED"


def test_a_mismatch_lists_each_discrepancy(functions: FunctionSet, call_api: ApiCall) -> None:
    submit_certificate(call_api)
    line = {**declaration_payload()["lines"][0], "hs_code": "0402290000", "quantity": {"value": "26000", "unit": "KGM"}}
    lodge(call_api, lines=[line], importer_name="Beijing Grain Imports Ltd")

    run_matcher(functions, CN_ID)

    result = call_api("GET", f"/v1/declarations/{CN_ID}", client_id=CN_CUSTOMS)["json"]
    assert result["status"] == "MISMATCHED"
    found = {(d["line_number"], d["field"], d["severity"]) for d in result["discrepancies"]}
    assert found == {
        (None, "importer_name", "ERROR"),
        (1, "hs_code", "ERROR"),
        (1, "quantity", "ERROR"),
    }
    usage = call_api("GET", "/v1/certificates/11.1234.12345", client_id=ISSUING_BODY)["json"]["usage"]
    assert usage == "UNUSED"


def test_a_declaration_quoting_no_certificate_is_answered_not_found(functions: FunctionSet, call_api: ApiCall) -> None:
    lodge(call_api, certificate_number="11.9999.99999")

    run_matcher(functions, CN_ID)

    result = call_api("GET", f"/v1/declarations/{CN_ID}", client_id=CN_CUSTOMS)["json"]
    assert result["status"] == "CERTIFICATE_NOT_FOUND"


def test_an_export_entry_result_is_filed_for_nz_customs_and_never_sent_to_china(
    functions: FunctionSet, call_api: ApiCall
) -> None:
    submit_certificate(call_api)
    lodge(call_api, client_id=NZ_CUSTOMS, certificate_number="COO11123412345", declaration_number="EX1")
    run_matcher(functions, "NZEX-EX1")

    assert run_notifier(functions, "NZEX-EX1") == {"batchItemFailures": []}

    (message,) = (OUTBOX_MESSAGE.validate_json(body) for body in outbox_bodies("NZEX-EX1", FileExportResult))
    assert message.channel is OutboxChannel.NOTIFICATIONS
    assert outbox_bodies("NZEX-EX1", DeliverToChina) == []
    bucket = boto3.client("s3").list_buckets()["Buckets"]
    name = next(b["Name"] for b in bucket if b["Name"] == EXCHANGE_BUCKET.local_name)
    filed: dict[str, Any] = json.loads(
        boto3.client("s3").get_object(Bucket=name, Key=result_key("NZEX-EX1"))["Body"].read()
    )
    assert (filed["declaration_id"], filed["status"], filed["declarant"]) == ("NZEX-EX1", "MATCHED", "NZ_EXPORT_ENTRY")
    # An export entry does not use the certificate in China.
    usage = call_api("GET", "/v1/certificates/11.1234.12345", client_id=ISSUING_BODY)["json"]["usage"]
    assert usage == "UNUSED"


def test_a_declaration_the_matcher_cannot_decide_comes_back_and_the_log_says_which(functions: FunctionSet) -> None:
    # Given the message of a declaration that is not stored (the matcher raises NotFound on it)
    message = MatchDeclaration(
        declaration_id="CNIM-000000000000000000", certificate_number="11.1234.12345", created_at=datetime.now(UTC)
    )
    # When the matcher handles it
    with log_lines() as logs:
        result = functions.matcher(sqs_event([message.model_dump_json()]), LambdaContext("jevs-matcher"))
    # Then the record comes back, and the log names the message and the error by its type
    assert len(result["batchItemFailures"]) == 1
    (failed,) = [json.loads(line) for line in logs.lines if '"record failed"' in line]
    assert (failed["level"], failed["message_id"], failed["error_type"]) == ("WARNING", message.message_id, "NotFound")
    assert "exception" not in failed


def test_a_message_the_matcher_cannot_read_is_logged_by_its_field_paths_never_its_values(
    functions: FunctionSet,
) -> None:
    # Given a message whose fields are not what a declaration's message holds, carrying a declared value
    body = MatchDeclaration(
        declaration_id="CNIM-000000000000000000", certificate_number="11.1234.12345", created_at=datetime.now(UTC)
    ).model_dump(mode="json")
    body["revision"] = "SENTINEL-INV-4411 for Zhou Trading"
    # When the matcher handles it
    with log_lines() as logs:
        result = functions.matcher(sqs_event([json.dumps(body)]), LambdaContext("jevs-matcher"))
    # Then it comes back, and the log says where the body is wrong and how, without the value it carried
    assert len(result["batchItemFailures"]) == 1
    assert "SENTINEL" not in logs.text
    (failed,) = [json.loads(line) for line in logs.lines if '"record failed"' in line]
    assert failed["error_type"] == "ValidationError"
    assert {"loc": "body.declaration.match.revision", "type": "int_parsing"} in failed["errors"]
