"""The authorisation matrix (issue 14, DESIGN.md §1 and §5), over HTTP against a local stack: every operation of
the running stack's ``/openapi.json`` × every caller × the resources that caller may and may not see.

- Every deny cell is 401 (no, an expired or a forged token) or 404, with one body per route and status: the 404
  of a resource that exists but is hidden is byte for byte the 404 of one that does not exist.
- Every allow cell answers that party's projection, its keys (nested too) within the allow-list written here. The
  lists are written out, not derived from the response models: a new field fails this test until someone adds it
  to the projection on purpose.
- Every write a party may not make is refused and changes nothing; the write of the party that may make it
  succeeds, on a fresh resource.

Operations come from the document, so a route added tomorrow fails here until it has its row in ``READS`` or
``WRITES``. The cells run in a loop and every failure is collected into one report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from infrastructure.local.request_bodies import (
    application_payload,
    certificate_payload,
    declaration_payload,
    goods_payload,
    signatory_payload,
    today_in_new_zealand,
    verification_answer_payload,
    verification_request_payload,
)
from infrastructure.local.stack import LocalStack
from tests.conftest import record_count
from tests.e2e.conftest import e2e_stack
from tests.e2e.matrix_world import (
    CALLERS,
    CN_CUSTOMS,
    EXPORTER,
    ISSUER,
    OTHER_SCOPE,
    PARTIES,
    UNAUTHENTICATED,
    Callers,
    World,
    certificate_number,
    declaration_number,
    lodged_application,
    open_request,
    parties_file,
    seed,
    submitted_certificate,
)

pytestmark = pytest.mark.e2e

# Roles, as the cells name them (matrix_world.PARTIES).
OWNER_BODY, OTHER_BODY = "issuing body that owns", "another issuing body"
OWNER_EXPORTER, OTHER_EXP = "exporter that owns", "another exporter"
NZ, CN, OPS_ROLE = "NZ Customs", "China Customs", "ops"
EVERY_PARTY = tuple(PARTIES)
# The public routes' callers: whatever the token, or none.
ANYONE = (*EVERY_PARTY, *UNAUTHENTICATED, OTHER_SCOPE)

# -- the projections: allow-lists, written out --------------------------------------------------------------------
# A shape maps each key a projection may carry to None (a value) or to the shape of the object, or of each element
# of the list, under it. ``Projection.required`` names the keys that must be there (what tells the projections
# apart: the owner's certificate carries its commercial details, the customs' one its content without them).

Shape = dict[str, "Shape | None"]

LINKS: Shape = {"self": None, "history": None, "certificate": None, "decision": None, "record": None}
PARTY_BOX: Shape = {"name": None, "address": None, "country": None, "business_number": None}
TRANSPORT: Shape = {
    "departure_date": None,
    "mode": None,
    "vessel_or_flight": None,
    "port_of_loading": None,
    "port_of_discharge": None,
}
PRODUCER: Shape = {"disclosure": None, "producers": {"name": None, "address": None}}
PACKAGES: Shape = {"count": None, "kind": None}
QUANTITY: Shape = {"value": None, "unit": None}
INVOICE: Shape = {
    "number": None,
    "date": None,
    "third_party_invoicing": {"name": None, "address": None, "country": None},
}
CERTIFICATE_ITEM: Shape = {
    "item_number": None,
    "marks_and_numbers": None,
    "packages": PACKAGES,
    "description": None,
    "hs_code": None,
    "origin_criterion": None,
    "rvc_percent": None,
    "quantity": QUANTITY,
    "gross_weight_kg": None,
    "invoice": INVOICE,
}
CERTIFICATE_STATE: Shape = {
    "certificate_number": None,
    "view": None,
    "status": None,
    "usage": None,
    "version": None,
    "issuing_body": {"id": None, "name": None, "place": None},
    "issue_date": None,
    "valid_from": None,
    "valid_until": None,
    "retrospective": None,
    "currently_valid": None,
    "replaces": None,
    "replaced_by": None,
    "certified_true_copy_of": None,
    "revocation_reason": None,
    "importing_country": None,
    "recorded_at": None,
    "links": {"self": None, "history": None},
}
CERTIFICATE_FTA_FORM: Shape = {
    **CERTIFICATE_STATE,
    "exporter": PARTY_BOX,
    "producer": PRODUCER,
    "consignee": PARTY_BOX,
    "transport": TRANSPORT,
    "remarks": None,
    "items": CERTIFICATE_ITEM,
}
COMMERCIAL: Shape = {"invoice_values": {"invoice_number": None, "amount": None, "currency": None}}
CERTIFICATE_FULL: Shape = {**CERTIFICATE_FTA_FORM, "commercial": COMMERCIAL}
SUMMARY_STATE: Shape = {
    "certificate_number": None,
    "view": None,
    "status": None,
    "version": None,
    "issuing_body": None,
    "issue_date": None,
    "valid_until": None,
    "importing_country": None,
    "links": {"self": None, "history": None},
}
SUMMARY_WITH_NAMES: Shape = {**SUMMARY_STATE, "exporter_name": None, "consignee_name": None}
HASHED_EVENT: Shape = {
    "sequence": None,
    "type": None,
    "occurred_at": None,
    "actor": None,
    "version": None,
    # What each event records: ids, states and outcomes, never commercial content.
    "details": {
        "content_hash": None,
        "status": None,
        "retrospective": None,
        "issuing_body": None,
        "due_at": None,
        "reason": None,
        "replaced_by": None,
        "replaces": None,
        "certified_true_copy": None,
        "message": None,
        "state": None,
        "attempts": None,
        "receipt_id": None,
        "declaration_id": None,
        "declarant": None,
        "errors": None,
        "warnings": None,
        "usage": None,
        "decision": None,
        "reason_codes": None,
        "verification_id": None,
        "due_date": None,
        "attachments": None,
        "late": None,
        "valid_until": None,
    },
    "previous_hash": None,
    "state_hash": None,
    "hash": None,
    "seal": None,
}
CHAIN: Shape = {
    "valid": None,
    "events_checked": None,
    "broken_at": None,
    "reason": None,
    "check": None,
    "algorithm": None,
}
CERTIFICATE_HISTORY: Shape = {
    "certificate_number": None,
    "events": HASHED_EVENT,
    "chain": CHAIN,
    "head": {"sequence": None, "hash": None},
    "record_state_hash": None,
    "signed_head": {
        "statement": {"certificate_number": None, "head_sequence": None, "head_hash": None, "signed_at": None},
        "jws": None,
    },
    "links": {"self": None},
}
RECORD_HISTORY: Shape = {
    "id": None,
    "events": HASHED_EVENT,
    "chain": CHAIN,
    "signed_head": {
        "statement": {"record_id": None, "head_sequence": None, "head_hash": None, "signed_at": None},
        "jws": None,
    },
    "links": {"self": None, "record": None},
}
DELIVERIES: Shape = {
    "certificate_number": None,
    "deliveries": {
        "message_type": None,
        "version": None,
        "state": None,
        "attempts": None,
        "last_error": None,
        "receipt_id": None,
        "rejection_reason": None,
        "created_at": None,
        "updated_at": None,
        "delivered_at": None,
    },
    "links": {"self": None},
}
DISCREPANCY: Shape = {
    "line_number": None,
    "field": None,
    "certificate_value": None,
    "declared_value": None,
    "severity": None,
}
MATCHES: Shape = {
    "certificate_number": None,
    "usage": None,
    "matches": {
        "declaration_id": None,
        "declarant": None,
        "revision": None,
        "decision": None,
        "status": None,
        "discrepancies": DISCREPANCY,
        "decided_at": None,
        "replacement_certificate_number": None,
    },
    "links": {"self": None, "history": None},
}
DECLARATION: Shape = {
    "declaration_id": None,
    "declaration_number": None,
    "certificate_number": None,
    "declarant": None,
    "revision": None,
    "status": None,
    "received_at": None,
    "decided_at": None,
    "discrepancies": DISCREPANCY,
    "replacement_certificate_number": None,
    "links": {"self": None, "certificate": None},
}
LODGED: Shape = {
    "id": None,
    "exporter": None,
    "exporter_business_number": None,
    "issuing_body": None,
    "status": None,
    "lodged_at": None,
    "decided_at": None,
    "decided_by": None,
    "reasons": None,
    "links": LINKS,
}
GOODS: Shape = {
    **LODGED,
    "approved_until": None,
    "goods": {
        "issuing_body": None,
        "hs_code": None,
        "description": None,
        "origin_criterion": None,
        "rvc_percent": None,
        "producer": PRODUCER,
        "evidence": {
            "statement": None,
            "currency": None,
            "cost_build_up": {"component": None, "origin_country": None, "value": None},
            "suppliers": None,
        },
    },
}
SIGNATORY: Shape = {
    **LODGED,
    "person": {"issuing_body": None, "name": None, "position": None, "email": None, "phone": None},
}
APPLICATION: Shape = {
    **LODGED,
    "due_at": None,
    "applicant_email": None,
    "certificate_number": None,
    "flagged_past_due_at": None,
    "met_due_time": None,
    "past_due": None,
    "application": {
        "issuing_body": None,
        "signatory_id": None,
        "exporter": PARTY_BOX,
        "producer": PRODUCER,
        "consignee": PARTY_BOX,
        "transport": TRANSPORT,
        "remarks": None,
        "items": {
            "item_number": None,
            "goods_registration_id": None,
            "marks_and_numbers": None,
            "packages": PACKAGES,
            "quantity": QUANTITY,
            "gross_weight_kg": None,
            "invoice": INVOICE,
        },
        "commercial": COMMERCIAL,
    },
}
REDRIVE: Shape = {
    "id": None,
    "queue": None,
    "status": None,
    "requested_by": None,
    "requested_at": None,
    "updated_at": None,
    "finished_at": None,
    "moved": None,
    "pages": None,
    "quarantined_count": None,
    "quarantined": None,
    "republished": None,
    "batches_not_found_count": None,
    "batches_not_found": None,
    "links": {"self": None},
}
VERIFICATION: Shape = {
    "certificate_number": None,
    "status": None,
    "currently_valid": None,
    "standing": None,
    "replaced_by": None,
    "issuing_body": None,
    "issue_date": None,
    "valid_from": None,
    "valid_until": None,
    "digest_matches": None,
    "history_verified": None,
}
VERIFICATION_REQUEST: Shape = {
    "id": None,
    "certificate_number": None,
    "issuing_body": None,
    "requested_by": None,
    "questions": None,
    "due_date": None,
    "raised_at": None,
    "status": None,
    "overdue": None,
    "answer": {
        "text": None,
        "attachments": {"name": None, "media_type": None, "size": None, "sha256": None, "href": None},
        "answered_at": None,
        "answered_by": None,
    },
    "closure": {"conclusion": None, "text": None, "closed_at": None, "closed_by": None},
    "links": {"self": None, "certificate": None, "response": None, "closure": None},
}
PREFERENCES: Shape = {
    "certificate_number": None,
    "decisions": {
        "certificate_number": None,
        "certificate_version": None,
        "declaration_number": None,
        "declaration_id": None,
        "decision": None,
        "reasons": {"code": None, "text": None},
        "decided_at": None,
        "decided_by": None,
    },
    "links": {"self": None, "certificate": None},
}
EXCHANGE_FILE_ENTRY: Shape = {"id": None, "key": None, "kind": None, "size": None, "last_modified": None, "href": None}
# NZ Customs' data file of a certificate: the FTA form's data elements and the certification, never commercial.
EXCHANGE_CERTIFICATE_FILE: Shape = {
    "message_id": None,
    "message_type": None,
    "certificate_number": None,
    "version": None,
    "status": None,
    "issued_at": None,
    "valid_from": None,
    "valid_until": None,
    "retrospective": None,
    "printed_remarks": None,
    "certification": {"issue_date": None, "issuing_body": None, "issuing_body_name": None, "place": None},
    "certificate": {
        "certificate_number": None,
        "issue_date": None,
        "exporter": PARTY_BOX,
        "producer": PRODUCER,
        "consignee": PARTY_BOX,
        "transport": TRANSPORT,
        "remarks": None,
        "items": CERTIFICATE_ITEM,
    },
}
DELIVERY_STATUS: Shape = {
    "circuit": {
        "destination": None,
        "state": None,
        "consecutive_failures": None,
        "opened_at": None,
        "retry_at": None,
        "last_error": None,
    },
    "pending": {
        "count": None,
        "count_is_at_least": None,
        "oldest_delivery": None,
        "oldest_created_at": None,
        "oldest_last_error": None,
    },
}
JWKS: Shape = {"keys": {"kty": None, "crv": None, "x": None, "y": None, "kid": None, "use": None, "alg": None}}


@dataclass(frozen=True)
class Projection:
    """What an allowed caller gets: JSON within ``shape`` carrying ``required`` (and ``values``), a PDF, or an HTML
    page."""

    name: str
    shape: Shape | None = None
    required: frozenset[str] = frozenset()
    values: dict[str, Any] = field(default_factory=dict)
    pdf: bool = False
    page: bool = False


def projection(name: str, shape: Shape, *required: str, **values: Any) -> Projection:
    return Projection(name, shape, frozenset(required), values)


FULL = projection("certificate FULL", CERTIFICATE_FULL, "exporter", "items", "commercial", view="FULL")
FTA_FORM = projection("certificate FTA_FORM", CERTIFICATE_FTA_FORM, "exporter", "items", view="FTA_FORM")
OPERATIONS = projection("certificate OPERATIONS", CERTIFICATE_STATE, "status", view="OPERATIONS")
PDF = Projection("PDF", pdf=True)
# The OpenAPI document (its top level; what is inside is the document's own business) and the page rendering it.
OPENAPI: Shape = dict.fromkeys(("openapi", "info", "servers", "paths", "components", "tags"))
API_REFERENCE = Projection("API reference page", page=True)


def listed(name: str, shape: Shape, key: str, *required: str, **values: Any) -> Projection:
    """A listing's entry: the item whose ``key`` is the resource's."""
    return Projection(name, shape, frozenset(required), {"_listed_by": key, **values})


# -- the rows: which resource each operation is about, and who may do what -------------------------------------------


@dataclass(frozen=True)
class Read:
    """A GET of one resource: its path parameters (and query), the projection each allowed role gets; every other
    role is denied. A listing (``listing=True``) denies by leaving the resource out (200) or by 404."""

    resource: str
    params: dict[str, str]
    allowed: dict[str, Projection]
    query: dict[str, str] = field(default_factory=dict)
    listing: bool = False
    # A path parameter value no resource has, for the 404 of what does not exist.
    absent: dict[str, str] = field(default_factory=dict)


def everyone(projection: Projection) -> dict[str, Projection]:
    return dict.fromkeys(EVERY_PARTY, projection)


def owners(projection: Projection, *others: str) -> dict[str, Projection]:
    return dict.fromkeys((OWNER_BODY, OWNER_EXPORTER, *others), projection)


def certificate_reads(number: str, resource: str, *, cn_sees: bool = True) -> dict[str, list[Read]]:
    """The certificate's own routes, for one certificate."""
    absent = {"number": "11.4444.99999"}
    customs = {NZ: FTA_FORM, **({CN: FTA_FORM} if cn_sees else {})}
    return {
        "GET /v1/certificates/{number}": [
            Read(resource, {"number": number}, {**owners(FULL), **customs, OPS_ROLE: OPERATIONS}, absent=absent)
        ],
        "GET /v1/certificates/{number}/history": [
            Read(resource, {"number": number}, owners(projection("history", CERTIFICATE_HISTORY), NZ), absent=absent)
        ],
        "GET /v1/certificates/{number}/delivery": [
            Read(
                resource,
                {"number": number},
                dict.fromkeys((OWNER_BODY, OPS_ROLE), projection("deliveries", DELIVERIES, "deliveries")),
                absent=absent,
            )
        ],
        "GET /v1/certificates/{number}/match-results": [
            Read(resource, {"number": number}, owners(projection("match results", MATCHES)), absent=absent)
        ],
        "GET /v1/certificates/{number}/document": [Read(resource, {"number": number}, owners(PDF), absent=absent)],
        "GET /v1/certificates/{number}/preference-decisions": [
            Read(
                resource,
                {"number": number},
                owners(projection("preference decisions", PREFERENCES, "decisions"), NZ, *([CN] if cn_sees else [])),
                absent=absent,
            )
        ],
        "GET /v1/verify/{number}": [
            Read(
                resource,
                {"number": number},
                dict.fromkeys(ANYONE, projection("verification", VERIFICATION)),
            )
        ],
    }


def reads(world: World) -> dict[str, list[Read]]:
    """Every GET operation's cells over the seeded world."""
    submitted = certificate_reads(world.certificate, "certificate submitted by body A for exporter A")
    hosted = certificate_reads(world.hosted_certificate, "certificate issued by body A for exporter A (hosted)")
    rows = {route: submitted[route] + hosted[route] for route in submitted}
    summary = listed("certificate summary", SUMMARY_WITH_NAMES, "certificate_number", "exporter_name")
    since = {"since": world.since, "limit": "100"}
    lodged = {
        "goods-registrations": (world.goods, "registration_id", GOODS, "goods registration"),
        "signatories": (world.signatory, "signatory_id", SIGNATORY, "signatory"),
        "applications": (world.application, "application_id", APPLICATION, "application"),
    }
    for collection, (record_id, parameter, shape, name) in lodged.items():
        params = {parameter: record_id}
        absent = {parameter: record_id[:-4] + "0000"}
        rows[f"GET /v1/{collection}/{{{parameter}}}"] = [
            Read(name, params, owners(projection(name, shape, "links")), absent=absent)
        ]
        rows[f"GET /v1/{collection}/{{{parameter}}}/history"] = [
            Read(name, params, owners(projection(f"{name} history", RECORD_HISTORY, "events")), absent=absent)
        ]
        rows[f"GET /v1/{collection}"] = [
            Read(name, {}, owners(listed(name, shape, "id", "links")), listing=True, query={"_id": record_id})
        ]
    rows["GET /v1/certificates"] = [
        Read(
            "certificate submitted by body A for exporter A",
            {},
            {
                **owners(summary),
                NZ: summary,
                CN: summary,
                OPS_ROLE: listed("certificate summary OPERATIONS", SUMMARY_STATE, "certificate_number"),
            },
            query={"limit": "100", "_id": world.certificate},
            listing=True,
        )
    ]
    declaration = projection("declaration", DECLARATION, "status")
    rows["GET /v1/declarations/{declaration_id}"] = [
        Read(
            "declaration of NZ Customs",
            {"declaration_id": world.nz_declaration},
            {NZ: declaration},
            absent={"declaration_id": "NZEX-223320264499999999"},
        ),
        Read(
            "declaration of China Customs",
            {"declaration_id": world.cn_declaration},
            {CN: declaration},
            absent={"declaration_id": "CNIM-223320264499999999"},
        ),
    ]
    request = projection("verification request", VERIFICATION_REQUEST, "questions")
    involved = (OWNER_BODY, NZ, CN)
    rows["GET /v1/verification-requests/{request_id}"] = [
        Read(
            "verification request",
            {"request_id": world.verification_request},
            dict.fromkeys(involved, request),
            absent={"request_id": "VR-0000000000000000"},
        )
    ]
    rows["GET /v1/verification-requests"] = [
        Read(
            "verification request",
            {},
            dict.fromkeys(involved, listed("verification request", VERIFICATION_REQUEST, "id", "questions")),
            query={"limit": "100", "_id": world.verification_request},
            listing=True,
        )
    ]
    rows["GET /v1/verification-requests/{request_id}/attachments/{index}"] = [
        Read(
            "verification answer's attachment",
            {"request_id": world.verification_request, "index": "0"},
            dict.fromkeys(involved, PDF),
            absent={"request_id": "VR-0000000000000000", "index": "0"},
        )
    ]
    rows["GET /v1/ops/redrives/{redrive_id}"] = [
        Read(
            "ops redrive",
            {"redrive_id": world.redrive},
            {OPS_ROLE: projection("redrive", REDRIVE, "queue")},
            absent={"redrive_id": "RD-0000000000000000"},
        )
    ]
    rows["GET /v1/ops/redrives"] = [
        Read(
            "ops redrive",
            {},
            {OPS_ROLE: listed("redrive", REDRIVE, "id", "queue")},
            query={"_id": world.redrive},
            listing=True,
        )
    ]
    rows["GET /v1/ops/deliveries/status"] = [
        Read("delivery state", {}, {OPS_ROLE: projection("delivery status", DELIVERY_STATUS, "circuit", "pending")})
    ]
    rows["GET /v1/exchange/nz-customs/files"] = [
        Read(
            "NZ Customs data file",
            {},
            {NZ: listed("exchange file", EXCHANGE_FILE_ENTRY, "id", "key")},
            query={**since, "_id": world.exchange_file},
            listing=True,
        )
    ]
    rows["GET /v1/exchange/nz-customs/files/{file_id}"] = [
        Read(
            "NZ Customs data file",
            {"file_id": world.exchange_file},
            {NZ: projection("certificate data file", EXCHANGE_CERTIFICATE_FILE, "certificate")},
            absent={"file_id": "bm8tc3VjaC1maWxl"},
        )
    ]
    rows["GET /.well-known/jwks.json"] = [
        Read("JEVS's public keys", {}, dict.fromkeys(ANYONE, projection("JWKS", JWKS)))
    ]
    rows["GET /openapi.json"] = [
        Read("the OpenAPI document", {}, dict.fromkeys(ANYONE, projection("OpenAPI", OPENAPI, "openapi", "paths")))
    ]
    rows["GET /docs"] = [Read("the API reference page", {}, dict.fromkeys(ANYONE, API_REFERENCE))]
    return rows


# -- checking a cell ------------------------------------------------------------------------------------------------


def disallowed_keys(value: Any, shape: Shape, where: str = "") -> list[str]:
    """Every key of ``value`` (nested, through lists) that ``shape`` does not allow."""
    if isinstance(value, list):
        return [found for element in value for found in disallowed_keys(element, shape, f"{where}[]")]
    if not isinstance(value, dict):
        return []
    found = []
    for key, inner in value.items():
        if key not in shape:
            found.append(f"{where}.{key}" if where else key)
        elif isinstance(shape[key], dict) and inner is not None:
            nested = shape[key]
            assert isinstance(nested, dict)
            found += disallowed_keys(inner, nested, f"{where}.{key}" if where else key)
    return found


def projection_problems(response: httpx.Response, expected: Projection, listed_id: str | None) -> list[str]:
    if response.status_code != 200:
        return [f"expected 200 ({expected.name}), got {response.status_code}: {response.text[:200]}"]
    if expected.pdf:
        is_pdf = response.headers.get("content-type") == "application/pdf" and response.content.startswith(b"%PDF")
        return [] if is_pdf else [f"expected a PDF, got {response.headers.get('content-type')}"]
    if expected.page:
        is_page = response.headers.get("content-type", "").startswith("text/html")
        return [] if is_page else [f"expected a page, got {response.headers.get('content-type')}"]
    body = response.json()
    values = dict(expected.values)
    key = values.pop("_listed_by", None)
    if key is not None:
        entries = [item for item in body["items"] if item.get(key) == listed_id]
        if len(entries) != 1:
            return [f"expected the resource listed once ({expected.name}), found {len(entries)}"]
        extra = disallowed_keys({k: v for k, v in body.items() if k != "items"}, {"next_cursor": None})
        body = entries[0]
    else:
        extra = []
    assert expected.shape is not None
    outside = dict.fromkeys(extra + disallowed_keys(body, expected.shape))
    problems = [f"key outside the {expected.name} allow-list: {key}" for key in outside]
    problems += [f"{expected.name} lacks {key}" for key in sorted(expected.required - set(body))]
    problems += [
        f"{expected.name}: {name} is {body.get(name)!r}, expected {value!r}"
        for name, value in values.items()
        if body.get(name) != value
    ]
    return problems


def normalised(response: httpx.Response, params: dict[str, str]) -> str:
    """The deny body with the path's own values as placeholders, any request id left out: compared byte for byte."""
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    # A problem's instance names its request (urn:jevs:request:<id>): a request id too.
    if isinstance(body, dict) and ({"request_id", "requestId", "instance"} & set(body)):
        text = json.dumps({k: v for k, v in body.items() if k not in ("request_id", "requestId", "instance")})
    for name, value in params.items():
        if len(value) >= 6:  # ids and numbers, not an attachment's index that "status": 401 also holds
            text = text.replace(value, "{" + name + "}")
    return text


@dataclass
class Report:
    cells: int = 0
    failures: list[str] = field(default_factory=list)
    # Normalised deny bodies by (route, status), with the cells that gave each.
    bodies: dict[tuple[str, int], dict[str, list[str]]] = field(default_factory=dict)

    def fail(self, cell: str, problem: str) -> None:
        self.failures.append(f"{cell}: {problem}")

    def denied(self, route: str, cell: str, response: httpx.Response, params: dict[str, str], status: int) -> None:
        if response.status_code != status:
            self.fail(cell, f"expected {status}, got {response.status_code}: {response.text[:200]}")
            return
        if response.headers.get("content-type") != "application/problem+json":
            self.fail(cell, f"a {status} that is not a problem: {response.headers.get('content-type')}")
        # One 401 body for the whole API; one 404 body per route.
        key = ("every route" if status == 401 else route, status)
        self.bodies.setdefault(key, {}).setdefault(normalised(response, params), []).append(cell)

    def identical_bodies(self) -> None:
        for (route, status), bodies in self.bodies.items():
            if len(bodies) > 1:
                described = "\n".join(f"    {body!r} ← {', '.join(cells[:4])}" for body, cells in bodies.items())
                self.failures.append(f"{route}: {len(bodies)} different {status} bodies:\n{described}")

    def text(self) -> str:
        return f"{len(self.failures)} of the matrix's checks failed:\n" + "\n".join(self.failures)


def path_of(route: str, params: dict[str, str]) -> str:
    path = route.split(" ", 1)[1]
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    return path


def check_read(callers: Callers, report: Report, route: str, row: Read, roles: tuple[str, ...]) -> None:
    query = {name: value for name, value in row.query.items() if not name.startswith("_")}
    listed_id = row.query.get("_id")
    path = path_of(route, row.params)
    for role in roles:
        report.cells += 1
        cell = f"{route} [{row.resource}] as {role}"
        response = callers.get(role, path, query or None)
        if role in row.allowed:
            for problem in projection_problems(response, row.allowed[role], listed_id):
                report.fail(cell, problem)
        elif role in UNAUTHENTICATED or role == OTHER_SCOPE:
            report.denied(route, cell, response, row.params, 401)
        elif row.listing and response.status_code == 200:
            key = next(iter(row.allowed.values())).values.get("_listed_by", "id") if row.allowed else "id"
            if any(item.get(key) == listed_id for item in response.json()["items"]):
                report.fail(cell, f"lists {listed_id}, which it may not see")
        else:
            report.denied(route, cell, response, row.params, 404)
            if row.absent:
                # The same route for a resource that does not exist: the same body, so a 404 tells nothing.
                absent = callers.get(role, path_of(route, row.absent), query or None)
                report.denied(route, f"{route} [no such resource] as {role}", absent, row.absent, 404)


# -- writes --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A POST: the request (path parameters and body) each caller makes, by role; the roles that may make it and
    the status they get; what must not change when anyone else tries (a GET, as the role that may read it)."""

    resource: str
    params: dict[str, str]
    body: Callable[[str], Any]
    allowed: dict[str, int]
    witness: tuple[str, str] | None = None
    # Path parameters of a resource of its own for each allowed write after the first (an answer is given once).
    fresh: Callable[[], dict[str, str]] | None = None
    # A refusal other than 404 for a role whose body quotes what it may not see: the status, and the same request
    # quoting ids no one has, whose answer must be the same (so the refusal tells nothing about what exists).
    refused: dict[str, tuple[int, Callable[[], Any]]] = field(default_factory=dict)
    quoted: dict[str, str] = field(default_factory=dict)


def reason(_: str) -> dict[str, str]:
    return {"reason": "a correction asked for by the exporter"}


def replacement(_: str) -> dict[str, Any]:
    corrected = certificate_payload(certificate_number=certificate_number())
    return {"reason": "consignee's address corrected", "certificate": corrected}


def writes(callers: Callers, world: World) -> dict[str, list[Write]]:
    """Every POST operation's cells, each on a resource of its own made now."""
    rows: dict[str, list[Write]] = {}

    def fresh_certificate() -> str:
        return submitted_certificate(callers)

    for action, body, status in (
        ("replacement", replacement, 201),
        ("revocation", reason, 200),
        ("certified-true-copy", reason, 201),
    ):
        number = fresh_certificate()
        rows[f"POST /v1/certificates/{{number}}/{action}"] = [
            Write(
                "certificate of body A",
                {"number": number},
                body,
                {OWNER_BODY: status},
                (f"/v1/certificates/{number}", OWNER_BODY),
            )
        ]
    number = fresh_certificate()
    cn_declaration = declaration_number()
    callers.created(
        CN_CUSTOMS,
        "/v1/declarations",
        declaration_payload(certificate_number=number, declaration_number=cn_declaration),
        202,
    )
    rows["POST /v1/certificates/{number}/preference-decisions"] = [
        Write(
            "certificate with China's declaration",
            {"number": number},
            lambda _: {"declaration_number": cn_declaration, "decision": "GIVEN"},
            {CN: 201},
            (f"/v1/certificates/{number}/preference-decisions", OWNER_BODY),
        )
    ]
    rows["POST /v1/certificates"] = [
        Write(
            "a new certificate",
            {},
            lambda role: certificate_payload(
                certificate_number=certificate_number().replace("11.", "12.", 1)
                if role == OTHER_BODY
                else certificate_number()
            ),
            {OWNER_BODY: 201, OTHER_BODY: 201},
            ("/v1/certificates?limit=100", OPS_ROLE),
        )
    ]
    rows["POST /v1/declarations"] = [
        Write(
            "a new declaration",
            {},
            lambda _: declaration_payload(certificate_number=fresh_number, declaration_number=declaration_number()),
            {NZ: 202, CN: 202},
            None,
        )
    ]
    fresh_number = fresh_certificate()
    for collection, payload in (("goods-registrations", goods_payload), ("signatories", signatory_payload)):
        rows[f"POST /v1/{collection}"] = [
            Write(
                f"new {collection}",
                {},
                lambda _, payload=payload: payload(),  # type: ignore[misc]
                {OWNER_EXPORTER: 201, OTHER_EXP: 201},
                (f"/v1/{collection}", OWNER_BODY),
            )
        ]
        pending = callers.created(EXPORTER, f"/v1/{collection}", payload())
        parameter = "registration_id" if collection == "goods-registrations" else "signatory_id"
        until = (today_in_new_zealand() + timedelta(days=365)).isoformat()
        decision = {"decision": "APPROVED", **({"valid_until": until} if parameter == "registration_id" else {})}
        rows[f"POST /v1/{collection}/{{{parameter}}}/approval"] = [
            Write(
                f"pending {collection}",
                {parameter: pending["id"]},
                lambda _, decision=decision: decision,  # type: ignore[misc]
                {OWNER_BODY: 200},
                (pending["links"]["self"], OWNER_EXPORTER),
            )
        ]
    quoted = {"signatory_id": world.signatory, "registration_id": world.goods}
    rows["POST /v1/applications"] = [
        Write(
            "a new application",
            {},
            lambda role: lodged_application_body(world, role),
            {OWNER_EXPORTER: 201},
            ("/v1/applications", OWNER_BODY),
            # Another exporter quoting A's signatory and goods: refused as for ids no one has (422, same words).
            refused={OTHER_EXP: (422, lambda: lodged_application_body(world, OTHER_EXP, absent_ids(quoted)))},
            quoted=quoted,
        )
    ]
    for action, sent, role, status in (
        ("certification", None, OWNER_BODY, 201),
        ("rejection", {"reasons": ["the goods are not those registered"]}, OWNER_BODY, 200),
        ("withdrawal", None, OWNER_EXPORTER, 200),
    ):
        application = lodged_application(callers, world)["id"]
        rows[f"POST /v1/applications/{{application_id}}/{action}"] = [
            Write(
                "application lodged with body A",
                {"application_id": application},
                lambda _, sent=sent: sent,  # type: ignore[misc]
                {role: status},
                (f"/v1/applications/{application}", OWNER_EXPORTER),
            )
        ]
    rows["POST /v1/ops/redrives"] = [
        Write("a redrive", {}, lambda _: {"queue": "deliveries"}, {OPS_ROLE: 202}, ("/v1/ops/redrives", OPS_ROLE))
    ]
    rows["POST /v1/ops/deliveries/redrive"] = [
        Write("a redrive of parked deliveries", {}, lambda _: None, {OPS_ROLE: 202}, ("/v1/ops/redrives", OPS_ROLE))
    ]
    rows["POST /v1/verification-requests"] = [
        Write(
            "a new verification request",
            {},
            lambda _: verification_request_payload(world.certificate),
            {CN: 201},
            ("/v1/verification-requests?limit=100", CN),
        )
    ]
    answered = open_request(callers, world.certificate)
    callers.created(ISSUER, f"/v1/verification-requests/{answered}/response", verification_answer_payload(), 200)
    unanswered = open_request(callers, world.certificate)
    rows["POST /v1/verification-requests/{request_id}/response"] = [
        Write(
            "open verification request",
            {"request_id": unanswered},
            lambda _: verification_answer_payload(),
            {OWNER_BODY: 200, NZ: 200},
            (f"/v1/verification-requests/{unanswered}", CN),
            fresh=lambda: {"request_id": open_request(callers, world.certificate)},
        )
    ]
    rows["POST /v1/verification-requests/{request_id}/closure"] = [
        Write(
            "answered verification request",
            {"request_id": answered},
            lambda _: {"conclusion": "ORIGIN_CONFIRMED", "text": "The answer establishes the origin."},
            {CN: 200},
            (f"/v1/verification-requests/{answered}", CN),
        )
    ]
    return rows


def absent_ids(ids: dict[str, str]) -> dict[str, str]:
    """Ids of the same form that no one has."""
    return {name: value[:-6] + "000000" for name, value in ids.items()}


def lodged_application_body(world: World, role: str, ids: dict[str, str] | None = None) -> dict[str, Any]:
    """Exporter A's application; as another exporter, its own box 1 quoting A's goods and signatory (or ``ids``)."""
    quoted = ids or {"signatory_id": world.signatory, "registration_id": world.goods}
    body = application_payload(quoted["signatory_id"], [quoted["registration_id"]])
    if role == OTHER_EXP:
        body["exporter"] = {**body["exporter"], "name": "Tui Valley Wines Limited", "business_number": "9429047654327"}
    return body


def check_write(callers: Callers, report: Report, route: str, row: Write, roles: tuple[str, ...]) -> None:
    path = path_of(route, row.params)

    def witnessed() -> str | None:
        if row.witness is None:
            return None
        return callers.get(row.witness[1], row.witness[0]).text

    before = witnessed()
    for role in roles:
        if role in row.allowed:
            continue
        report.cells += 1
        cell = f"{route} [{row.resource}] as {role}"
        response = callers.post(role, path, row.body(role))
        if role in row.refused:
            status, absent_body = row.refused[role]
            report.denied(route, cell, response, row.quoted, status)
            absent = callers.post(role, path, absent_body())
            report.denied(route, f"{route} [quoting ids no one has] as {role}", absent, absent_ids(row.quoted), status)
            continue
        report.denied(route, cell, response, row.params, 401 if role in UNAUTHENTICATED or role == OTHER_SCOPE else 404)
    if witnessed() != before:
        report.fail(f"{route} [{row.resource}]", "a refused request changed what its owner reads")
    if roles == CALLERS:
        for index, (role, status) in enumerate(row.allowed.items()):
            report.cells += 1
            target = path if index == 0 or row.fresh is None else path_of(route, row.fresh())
            response = callers.post(role, target, row.body(role))
            if response.status_code != status:
                problem = f"expected {status}, got {response.status_code}: {response.text[:200]}"
                report.fail(f"{route} [{row.resource}] as {role}", problem)


# -- the tests -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own, with a second issuing body beside the demo parties."""
    with e2e_stack(parties_file(tmp_path_factory.mktemp("matrix"))) as running:
        yield running


@pytest.fixture(autouse=True)
def _functions_fed(stack: LocalStack) -> Iterator[None]:
    with stack.active():
        yield


@pytest.fixture(scope="module")
def callers(stack: LocalStack) -> Iterator[Callers]:
    with stack.active():
        made = Callers(stack)
        yield made
        made.close()


@pytest.fixture(scope="module")
def world(callers: Callers, stack: LocalStack) -> World:
    with stack.active():
        return seed(callers)


@pytest.fixture(scope="module")
def operations(stack: LocalStack) -> list[str]:
    """Every operation of the running stack's document, as ``METHOD /path``."""
    document = httpx.get(stack.openapi_url, timeout=30).json()
    methods = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    paths: dict[str, dict[str, Any]] = document["paths"]
    return [f"{method.upper()} {path}" for path, item in paths.items() for method in item if method in methods]


def run_matrix(callers: Callers, world: World, operations: list[str], roles: tuple[str, ...]) -> Report:
    report = Report()
    read_rows = reads(world)
    write_rows = writes(callers, world)
    unknown = [operation for operation in operations if operation not in read_rows and operation not in write_rows]
    assert not unknown, f"operations of /openapi.json with no row (resources, who may) in the matrix: {unknown}"
    for operation in operations:
        for read in read_rows.get(operation, []):
            check_read(callers, report, operation, read, roles)
        for write in write_rows.get(operation, []):
            check_write(callers, report, operation, write, roles)
    report.identical_bodies()
    return report


def test_every_operation_answers_each_party_its_projection_or_the_same_404_and_401(
    callers: Callers, world: World, operations: list[str], pytestconfig: pytest.Config
) -> None:
    report = run_matrix(callers, world, operations, CALLERS)

    routes = len(operations)
    record_count(pytestconfig, f"authorisation matrix: {routes} routes × {len(CALLERS)} parties = {report.cells} cells")
    assert not report.failures, report.text()


def test_a_token_scoped_for_another_party_type_is_401_on_every_operation(
    callers: Callers, world: World, operations: list[str], pytestconfig: pytest.Config
) -> None:
    # The issuing body's client with an exporter's scope: the party is not what the token may act as (finding 7).
    report = run_matrix(callers, world, operations, (OTHER_SCOPE,))

    routes = len(operations)
    record_count(pytestconfig, f"authorisation matrix, other-scope token: {routes} routes × 1 = {report.cells} cells")
    assert not report.failures, report.text()
