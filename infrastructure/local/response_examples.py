"""The success bodies the OpenAPI document shows with each operation, captured from a local stack.

``make examples`` starts a fresh local stack, walks every operation once as the party that may call it (the
example certificate submitted, delivered to China's simulator, declared by both customs, decided, questioned,
replaced, revoked and copied; goods, a signatory and applications through hosted issuing; a redrive), and writes
each operation's first answer of each success status to ``functions/api/examples/responses/`` as
``<operationId>.<status>.json`` (``{"summary", "value"}``). ``functions/api/examples.py`` shows them in the
document; a unit test holds each to its schema, and an e2e test runs this walk against the session's stack so a
new operation without an example fails.

Only JSON answers are captured: a PDF, an attachment's bytes, the HTML pages and the OpenAPI document itself are
not examples a generator reads.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from infrastructure.local.request_bodies import (
    EXAMPLES,
    application_payload,
    certificate_payload,
    commercial_payload,
    declaration_payload,
    goods_payload,
    preference_decision_payload,
    signatory_payload,
    today_in_new_zealand,
    verification_answer_payload,
    verification_request_payload,
)
from infrastructure.local.stack import LocalStack
from infrastructure.local.tokens import TOKEN_PATH

RESPONSES_FOLDER = EXAMPLES / "responses"

ISSUER, EXPORTER = "local-akl-chamber", "local-kauri-dairy"
NZ_CUSTOMS, CN_CUSTOMS, OPS = "local-nz-customs", "local-cn-customs", "local-ops"

# Answers that are not JSON, or not an example of anything: never captured.
NOT_CAPTURED = frozenset(
    {"readCertificateDocument", "readVerificationAttachment", "readApiReference", "readOpenApiDocument"}
)
_WAIT_SECONDS = 30


@dataclass(frozen=True)
class Numbers:
    """The certificate and declaration numbers the walk uses: the example's own on a fresh stack (``make
    examples``), fresh ones beside other tests on a shared stack."""

    certificate: str = "11.1234.12345"
    replacement: str = "11.1234.12346"
    revoked: str = "11.1234.12347"
    copied: str = "11.1234.12348"
    import_declaration: str = "223320261000123456"
    export_declaration: str = "223320261000123457"

    @classmethod
    def fresh(cls) -> Numbers:
        serial = uuid.uuid4().int % 90_000 + 10_000
        declaration = uuid.uuid4().int % 10**10
        return cls(
            certificate=f"11.7070.{serial:05d}",
            replacement=f"11.7071.{serial:05d}",
            revoked=f"11.7072.{serial:05d}",
            copied=f"11.7073.{serial:05d}",
            import_declaration=f"22332026{declaration:010d}",
            export_declaration=f"22332027{declaration:010d}",
        )


@dataclass
class Capture:
    """The walk's HTTP, as each party, recording the first success answer of each operation and status."""

    stack: LocalStack
    operations: dict[tuple[str, str], str]
    http: httpx.Client
    captured: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, client_id: str) -> str:
        if client_id not in self._tokens:
            client = self.stack.client(client_id)
            response = self.http.post(
                TOKEN_PATH, data={"grant_type": "client_credentials"}, auth=(client.client_id, client.client_secret)
            )
            response.raise_for_status()
            self._tokens[client_id] = response.json()["access_token"]
        return self._tokens[client_id]

    def call(
        self,
        summary: str,
        client_id: str | None,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        expected: int = 200,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if client_id is not None:
            headers["Authorization"] = f"Bearer {self.token(client_id)}"
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or f"example-{uuid.uuid4()}"
        response = self.http.request(method, path, json=body, params=params, headers=headers)
        assert response.status_code == expected, f"{method} {path} as {client_id}: {response.text}"
        found: dict[str, Any] = response.json()
        operation = self.operations[(method.lower(), _template_of(path, self.operations))]
        self.captured.setdefault((operation, response.status_code), {"summary": summary, "value": found})
        return found

    def eventually(
        self, summary: str, client_id: str, path: str, holds: Callable[[dict[str, Any]], bool], **query: str
    ) -> dict[str, Any]:
        """Read ``path`` until ``holds``; the answer that holds is the one captured."""
        deadline = time.monotonic() + _WAIT_SECONDS
        while True:
            headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token(client_id)}"}
            response = self.http.get(path, params=query or None, headers=headers)
            if response.status_code == 200 and holds(response.json()):
                return self.call(summary, client_id, "GET", path, params=query or None)
            assert time.monotonic() < deadline, f"GET {path} never got there: {response.text}"
            time.sleep(0.2)


def _template_of(path: str, operations: dict[tuple[str, str], str]) -> str:
    """The document's path template that ``path`` is an instance of."""
    parts = path.split("/")
    for _, template in operations:
        pattern = template.split("/")
        if len(pattern) == len(parts) and all(
            p == q or (q.startswith("{") and q.endswith("}")) for p, q in zip(parts, pattern, strict=True)
        ):
            return template
    raise LookupError(f"no operation documents {path}")


def operations_of(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(method, path template) → operationId, most specific templates first (fixed segments before parameters)."""
    found = {
        (method, path): operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    return dict(sorted(found.items(), key=lambda entry: entry[0][1].count("{")))


def capture(stack: LocalStack, numbers: Numbers | None = None) -> dict[tuple[str, int], dict[str, Any]]:
    """Every operation's success answers (operationId, status) → ``{"summary", "value"}``, from ``stack``."""
    numbers = numbers or Numbers()
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:
        document = http.get("/openapi.json").json()
        walk = Capture(stack, operations_of(document), http)
        _certificates(walk, numbers)
        _declarations_and_decisions(walk, numbers)
        _verification(walk, numbers)
        _lifecycle(walk, numbers)
        _hosted_issuing(walk)
        _operations(walk)
        return walk.captured


def _certificates(walk: Capture, numbers: Numbers) -> None:
    number = numbers.certificate
    body = certificate_payload(certificate_number=number, commercial=commercial_payload())
    key = f"example-{number}-{uuid.uuid4()}"
    walk.call(
        "The example certificate, stored",
        ISSUER,
        "POST",
        "/v1/certificates",
        body=body,
        idempotency_key=key,
        expected=201,
    )
    walk.call(
        "The same certificate sent again: the first answer",
        ISSUER,
        "POST",
        "/v1/certificates",
        body=body,
        idempotency_key=key,
        expected=201,
    )
    walk.call(
        "The same certificate again under another key: already stored",
        ISSUER,
        "POST",
        "/v1/certificates",
        body=body,
        expected=200,
    )
    walk.eventually(
        "Delivered to China Customs, with its receipt",
        ISSUER,
        f"/v1/certificates/{number}/delivery",
        lambda found: (
            all(delivery["state"] == "DELIVERED" for delivery in found["deliveries"]) and bool(found["deliveries"])
        ),
    )
    walk.call("The example certificate, as its issuing body sees it", ISSUER, "GET", f"/v1/certificates/{number}")
    today = today_in_new_zealand()
    walk.call(
        "The issuing body's certificates issued this week",
        ISSUER,
        "GET",
        "/v1/certificates",
        params={"issued_from": (today - timedelta(days=7)).isoformat(), "issued_to": today.isoformat()},
    )
    walk.call(
        "The example certificate: valid, and what JEVS holds is what its history recorded",
        None,
        "GET",
        f"/v1/verify/{number}",
    )
    walk.call("JEVS's public signing keys", None, "GET", "/.well-known/jwks.json")


def _declarations_and_decisions(walk: Capture, numbers: Numbers) -> None:
    number = numbers.certificate
    since = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    body = declaration_payload(certificate_number=number, declaration_number=numbers.import_declaration)
    walk.call(
        "China Customs' example declaration, received and waiting to be matched",
        CN_CUSTOMS,
        "POST",
        "/v1/declarations",
        body=body,
        expected=202,
    )
    walk.call(
        "The same declaration sent again: the first, with its result once decided",
        CN_CUSTOMS,
        "POST",
        "/v1/declarations",
        body=body,
    )
    walk.eventually(
        "The declaration matched: every detail agrees with the certificate",
        CN_CUSTOMS,
        f"/v1/declarations/CNIM-{numbers.import_declaration}",
        lambda found: found["status"] != "RECEIVED",
    )
    export = declaration_payload(certificate_number=number, declaration_number=numbers.export_declaration)
    walk.call("NZ Customs' export entry", NZ_CUSTOMS, "POST", "/v1/declarations", body=export, expected=202)
    walk.eventually(
        "Both customs' declarations and their results",
        ISSUER,
        f"/v1/certificates/{number}/match-results",
        lambda found: len(found["matches"]) >= 2 and all(m["status"] != "RECEIVED" for m in found["matches"]),
    )
    decision = preference_decision_payload(declaration_number=numbers.import_declaration)
    walk.call(
        "Preference not given on the import declaration, with the reason",
        CN_CUSTOMS,
        "POST",
        f"/v1/certificates/{number}/preference-decisions",
        body=decision,
        expected=201,
    )
    walk.call(
        "China Customs' decisions on the certificate",
        ISSUER,
        "GET",
        f"/v1/certificates/{number}/preference-decisions",
    )
    files = walk.eventually(
        "NZ Customs' exchange files since the certificate was issued",
        NZ_CUSTOMS,
        "/v1/exchange/nz-customs/files",
        lambda page: any(number in item["key"] for item in page["items"]),
        since=since,
        limit="100",
    )
    file_id = next(item["id"] for item in files["items"] if number in item["key"])
    walk.call("The certificate's file for NZ Customs", NZ_CUSTOMS, "GET", f"/v1/exchange/nz-customs/files/{file_id}")


def _verification(walk: Capture, numbers: Numbers) -> None:
    raised = walk.call(
        "China Customs asks where the milk came from",
        CN_CUSTOMS,
        "POST",
        "/v1/verification-requests",
        body=verification_request_payload(numbers.certificate),
        expected=201,
    )
    path = f"/v1/verification-requests/{raised['id']}"
    walk.call("The issuing body's open requests", ISSUER, "GET", "/v1/verification-requests", params={"status": "OPEN"})
    walk.call("The request, as its issuing body sees it", ISSUER, "GET", path)
    walk.call(
        "Answered with the exporter's cost statement",
        ISSUER,
        "POST",
        f"{path}/response",
        body=verification_answer_payload(),
    )
    walk.call(
        "China Customs confirms the origin",
        CN_CUSTOMS,
        "POST",
        f"{path}/closure",
        body={"conclusion": "ORIGIN_CONFIRMED", "text": "The answer and the cost statement establish the origin."},
    )


def _lifecycle(walk: Capture, numbers: Numbers) -> None:
    for number in (numbers.revoked, numbers.copied):
        walk.call(
            "Another certificate, stored",
            ISSUER,
            "POST",
            "/v1/certificates",
            body=certificate_payload(certificate_number=number),
            expected=201,
        )
    walk.call(
        "Revoked, with the reason",
        ISSUER,
        "POST",
        f"/v1/certificates/{numbers.revoked}/revocation",
        body={"reason": "Goods found not to meet the origin criterion"},
    )
    walk.call(
        "A certified true copy of the certificate",
        ISSUER,
        "POST",
        f"/v1/certificates/{numbers.copied}/certified-true-copy",
        body={"reason": "Original lost in transit"},
        expected=201,
    )
    example = json.loads((EXAMPLES / "certificate.json").read_text(encoding="utf-8"))
    corrected = certificate_payload(
        certificate_number=numbers.replacement,
        consignee={**example["consignee"], "address": "88 Century Avenue, Pudong New Area, Shanghai 200120"},
    )
    walk.call(
        "The consignee's address corrected, under a number of its own",
        ISSUER,
        "POST",
        f"/v1/certificates/{numbers.certificate}/replacement",
        body={"reason": "Consignee's address corrected", "certificate": corrected},
        expected=201,
    )
    walk.call(
        "The certificate's history: issued, declared, decided, replaced",
        ISSUER,
        "GET",
        f"/v1/certificates/{numbers.certificate}/history",
    )


def _hosted_issuing(walk: Capture) -> None:
    goods = walk.call(
        "Whole milk powder registered for origin, waiting for the chamber",
        EXPORTER,
        "POST",
        "/v1/goods-registrations",
        body=goods_payload(),
        expected=201,
    )
    until = (today_in_new_zealand() + timedelta(days=365)).isoformat()
    walk.call(
        "Approved for a year",
        ISSUER,
        "POST",
        f"/v1/goods-registrations/{goods['id']}/approval",
        body={"decision": "APPROVED", "valid_until": until},
    )
    walk.call("The registration, approved", EXPORTER, "GET", f"/v1/goods-registrations/{goods['id']}")
    walk.call("Lodged, then approved", EXPORTER, "GET", f"/v1/goods-registrations/{goods['id']}/history")
    walk.call("The exporter's registrations", EXPORTER, "GET", "/v1/goods-registrations")
    signatory = walk.call(
        "The exporter's export manager, waiting for the chamber",
        EXPORTER,
        "POST",
        "/v1/signatories",
        body=signatory_payload(),
        expected=201,
    )
    walk.call("Approved", ISSUER, "POST", f"/v1/signatories/{signatory['id']}/approval", body={"decision": "APPROVED"})
    walk.call("The signatory, approved", EXPORTER, "GET", f"/v1/signatories/{signatory['id']}")
    walk.call("Lodged, then approved", EXPORTER, "GET", f"/v1/signatories/{signatory['id']}/history")
    walk.call("The exporter's signatories", EXPORTER, "GET", "/v1/signatories")

    def lodged() -> dict[str, Any]:
        body = application_payload(signatory["id"], [goods["id"]], commercial=commercial_payload())
        return walk.call(
            "An application for the example goods, waiting for the chamber",
            EXPORTER,
            "POST",
            "/v1/applications",
            body=body,
            expected=201,
        )

    certified = lodged()
    walk.call("The application", EXPORTER, "GET", f"/v1/applications/{certified['id']}")
    walk.call("The chamber's work queue", ISSUER, "GET", "/v1/applications")
    walk.call(
        "Certified: the certificate, under the chamber's next number",
        ISSUER,
        "POST",
        f"/v1/applications/{certified['id']}/certification",
        expected=201,
    )
    walk.call("Lodged, then certified", EXPORTER, "GET", f"/v1/applications/{certified['id']}/history")
    walk.call(
        "Rejected, with the reasons",
        ISSUER,
        "POST",
        f"/v1/applications/{lodged()['id']}/rejection",
        body={"reasons": ["The invoice does not match the goods registered."]},
    )
    walk.call("Withdrawn by the exporter", EXPORTER, "POST", f"/v1/applications/{lodged()['id']}/withdrawal")


def _operations(walk: Capture) -> None:
    started = walk.call(
        "Every parked delivery resumed and sent to China again",
        OPS,
        "POST",
        "/v1/ops/redrives",
        body={"queue": "deliveries"},
        expected=202,
    )
    walk.call("The redrive, waiting for the reconciler's next run", OPS, "GET", f"/v1/ops/redrives/{started['id']}")
    walk.call("Recent redrives", OPS, "GET", "/v1/ops/redrives")
    walk.call("Parked deliveries resumed (the older route)", OPS, "POST", "/v1/ops/deliveries/redrive", expected=202)
    walk.call("Deliveries waiting, parked and in dead-letter queues", OPS, "GET", "/v1/ops/deliveries/status")


def write(captured: dict[tuple[str, int], dict[str, Any]], folder: Path = RESPONSES_FOLDER) -> list[Path]:
    """The captured answers as ``<operationId>.<status>.json``, replacing what the folder held."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    written = []
    for (operation, status), example in sorted(captured.items()):
        path = folder / f"{operation}.{status}.json"
        path.write_text(json.dumps(example, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main() -> int:
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with LocalStack(api_port=0, moto_port=0, lambda_port=0, quiet=True) as stack:
        written = write(capture(stack))
    print(f"wrote {len(written)} response examples to {RESPONSES_FOLDER.relative_to(Path.cwd())}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
