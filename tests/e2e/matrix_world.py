"""The parties and resources of the authorisation matrix (``test_authorisation_matrix.py``): a stack with a second
issuing body, one resource of each kind seeded over HTTP by the parties that own it, and every kind of caller
(each party, no token, an expired, a forged and an other-scope token)."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from infrastructure.local.request_bodies import (
    application_payload,
    certificate_payload,
    commercial_payload,
    declaration_payload,
    goods_payload,
    signatory_payload,
    today_in_new_zealand,
    verification_answer_payload,
    verification_request_payload,
)
from infrastructure.local.stack import LocalStack
from infrastructure.local.tokens import PARTIES_FILE, TokenService
from tests.e2e.conftest import PARTNER_TIMEOUT_SECONDS, token_source

ISSUER, EXPORTER, OTHER_EXPORTER = "local-akl-chamber", "local-kauri-dairy", "local-tui-wines"
NZ_CUSTOMS, CN_CUSTOMS, OPS = "local-nz-customs", "local-cn-customs", "local-ops"
# The second issuing body, in the matrix's stack only: the demo parties have one.
OTHER_ISSUER = "local-wlg-chamber"
OTHER_ISSUER_PARTY = {
    "type": "issuing_body",
    "id": "wlg-chamber",
    "name": "Wellington Chamber of Commerce",
    "place": "Wellington",
    "region": "WGN",
    "certificate_prefix": "12",
}

# The callers of every cell: the parties by the role they play towards the seeded resources, then the tokens
# that must not get past authentication.
PARTIES = {
    "issuing body that owns": ISSUER,
    "another issuing body": OTHER_ISSUER,
    "exporter that owns": EXPORTER,
    "another exporter": OTHER_EXPORTER,
    "NZ Customs": NZ_CUSTOMS,
    "China Customs": CN_CUSTOMS,
    "ops": OPS,
}
NO_TOKEN, EXPIRED, FORGED, OTHER_SCOPE = "no token", "expired token", "forged token", "other-scope token"
UNAUTHENTICATED = (NO_TOKEN, EXPIRED, FORGED)
CALLERS = (*PARTIES, *UNAUTHENTICATED)

_serials = itertools.count(1)


def parties_file(folder: Path) -> Path:
    """The demo parties plus the second issuing body."""
    document = json.loads(PARTIES_FILE.read_text(encoding="utf-8"))
    document["clients"].append(
        {"client_id": OTHER_ISSUER, "client_secret": "local-secret-wlg-chamber", "party": OTHER_ISSUER_PARTY}
    )
    path = folder / "parties.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def certificate_number() -> str:
    return f"11.4444.{next(_serials):05d}"


def declaration_number() -> str:
    return f"2233202644{next(_serials):08d}"


class Callers:
    """Every caller's headers, and HTTP as each of them."""

    def __init__(self, stack: LocalStack) -> None:
        self.http = httpx.Client(base_url=stack.api_url, timeout=PARTNER_TIMEOUT_SECONDS)
        token_for = token_source(stack)
        tokens = stack.gateway.tokens
        an_hour_and_a_minute_ago = time.time() - 3660
        self.tokens: dict[str, str | None] = {role: token_for(client) for role, client in PARTIES.items()}
        self.tokens[NO_TOKEN] = None
        self.tokens[EXPIRED] = tokens.issue(ISSUER, issued_at=an_hour_and_a_minute_ago)
        # Every claim right, signed by a key that is not the stack's.
        self.tokens[FORGED] = TokenService(stack.clients, issuer=tokens.issuer).issue(ISSUER)
        # The issuing body's client with an exporter's scope (Cognito names a party type's scope jevs/<type>).
        self.tokens[OTHER_SCOPE] = tokens.issue(ISSUER, ["jevs/exporter"])

    def close(self) -> None:
        self.http.close()

    def headers(self, caller: str, *, post: bool = False) -> dict[str, str]:
        headers = {}
        token = self.tokens[caller]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if post:
            headers["Idempotency-Key"] = f"matrix-{uuid.uuid4()}"
        return headers

    def get(self, caller: str, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        headers = self.headers(caller)
        if path.endswith("/document") or "/attachments/" in path:
            # The PDFs the matrix reads, asked for as a partner must (the Accept rule of the binary routes).
            headers["Accept"] = "application/pdf"
        return self.http.get(path, params=params, headers=headers)

    def post(self, caller: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers(caller, post=True))

    def as_party(self, client_id: str) -> str:
        return next(role for role, client in PARTIES.items() if client == client_id)

    def created(self, client_id: str, path: str, body: Any = None, status: int = 201) -> dict[str, Any]:
        response = self.post(self.as_party(client_id), path, body)
        assert response.status_code == status, f"seeding: POST {path} as {client_id}: {response.text}"
        found: dict[str, Any] = response.json()
        return found

    def eventually(
        self,
        client_id: str,
        path: str,
        holds: Callable[[dict[str, Any]], bool],
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            response = self.get(self.as_party(client_id), path, params)
            if response.status_code == 200 and holds(response.json()):
                found: dict[str, Any] = response.json()
                return found
            assert time.monotonic() < deadline, f"seeding: {path} never got there: {response.text}"
            time.sleep(0.2)


@dataclass
class World:
    """One resource of each kind, by the path parameter that names it."""

    hosted_certificate: str = ""
    certificate: str = ""
    goods: str = ""
    signatory: str = ""
    application: str = ""
    nz_declaration: str = ""
    cn_declaration: str = ""
    verification_request: str = ""
    redrive: str = ""
    exchange_file: str = ""
    since: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def approved_goods(callers: Callers) -> dict[str, Any]:
    goods = callers.created(EXPORTER, "/v1/goods-registrations", goods_payload())
    until = (today_in_new_zealand() + timedelta(days=365)).isoformat()
    callers.created(ISSUER, goods["links"]["decision"], {"decision": "APPROVED", "valid_until": until}, 200)
    return goods


def approved_signatory(callers: Callers) -> dict[str, Any]:
    signatory = callers.created(EXPORTER, "/v1/signatories", signatory_payload())
    callers.created(ISSUER, signatory["links"]["decision"], {"decision": "APPROVED"}, 200)
    return signatory


def lodged_application(callers: Callers, world: World) -> dict[str, Any]:
    body = application_payload(world.signatory, [world.goods], commercial=commercial_payload())
    return callers.created(EXPORTER, "/v1/applications", body)


def submitted_certificate(callers: Callers) -> str:
    number = certificate_number()
    body = certificate_payload(certificate_number=number, commercial=commercial_payload())
    callers.created(ISSUER, "/v1/certificates", body)
    return number


def open_request(callers: Callers, number: str) -> str:
    raised = callers.created(CN_CUSTOMS, "/v1/verification-requests", verification_request_payload(number))
    request_id: str = raised["id"]
    return request_id


def seed(callers: Callers) -> World:
    """Every resource, made as its owners make it: hosted issuing end to end, a submitted certificate with the
    declarations of both customs, a preference decision and an answered verification request on it, a redrive."""
    world = World(since=(datetime.now(UTC) - timedelta(seconds=5)).isoformat())
    world.goods = approved_goods(callers)["id"]
    world.signatory = approved_signatory(callers)["id"]
    hosted = lodged_application(callers, world)
    world.hosted_certificate = callers.created(ISSUER, f"/v1/applications/{hosted['id']}/certification")[
        "certificate_number"
    ]
    world.application = lodged_application(callers, world)["id"]

    world.certificate = submitted_certificate(callers)
    for customs, prefix in ((NZ_CUSTOMS, "NZEX"), (CN_CUSTOMS, "CNIM")):
        number = declaration_number()
        body = declaration_payload(certificate_number=world.certificate, declaration_number=number)
        callers.created(customs, "/v1/declarations", body, 202)
        callers.eventually(customs, f"/v1/declarations/{prefix}-{number}", lambda found: found["status"] != "RECEIVED")
        setattr(world, "nz_declaration" if customs == NZ_CUSTOMS else "cn_declaration", f"{prefix}-{number}")
    decision = {
        "declaration_number": world.cn_declaration.removeprefix("CNIM-"),
        "decision": "NOT_GIVEN",
        "reasons": [{"code": "GOODS_NOT_COVERED", "text": "The declared goods are skim milk powder, not whole."}],
    }
    callers.created(CN_CUSTOMS, f"/v1/certificates/{world.certificate}/preference-decisions", decision)
    world.verification_request = open_request(callers, world.certificate)
    callers.created(
        ISSUER, f"/v1/verification-requests/{world.verification_request}/response", verification_answer_payload(), 200
    )
    world.redrive = callers.created(OPS, "/v1/ops/redrives", {"queue": "deliveries"}, 202)["id"]
    files = callers.eventually(
        NZ_CUSTOMS,
        "/v1/exchange/nz-customs/files",
        lambda page: any(world.certificate in item["key"] for item in page["items"]),
        {"since": world.since, "limit": "100"},
    )
    world.exchange_file = next(item for item in files["items"] if world.certificate in item["key"])["id"]
    return world
