"""The mission, walked through over HTTP: ``python -m infrastructure.local.demo`` (``make demo``).

It calls the API at ``JEVS_API_URL`` (default http://127.0.0.1:8080, where ``make run`` listens); when nothing
answers there it starts a local stack of its own on free ports and stops it at the end. The story comes
first, one function per chapter (its docstring is the heading printed): each step prints its request and a
trimmed view of the answer, and checks the answer; the exit status is 1 if any step got other than it
expected. Every body is built by ``request_bodies.py``, as the tests build theirs. Each run numbers its
certificate anew and dates it today, so runs repeat against one stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, TextIO, TypedDict, Unpack

import httpx

from infrastructure.local import request_bodies as bodies
from infrastructure.local.stack import LocalStack
from infrastructure.local.tokens import TOKEN_PATH, Client, load_clients
from jevs.domain.new_zealand import NEW_ZEALAND
from jevs.resources import BINARY_MEDIA_TYPES

# The demo parties (parties.json) by the part each plays.
ISSUING_BODY, EXPORTER, OTHER_EXPORTER = "local-akl-chamber", "local-kauri-dairy", "local-tui-wines"
NZ_CUSTOMS, CN_CUSTOMS, OPS = "local-nz-customs", "local-cn-customs", "local-ops"


def tokens(walk: Walkthrough) -> None:
    """Each party gets its access token (OAuth2 client credentials)"""
    bearer = [lambda token: token.get("token_type") == "Bearer" and bool(token["access_token"])]
    for client_id, client in walk.run.clients.items():
        walk.step(f"{client_id} gets an access token")
        token = walk.post(TOKEN_PATH, basic=(client_id, client.client_secret), checks=bearer)
        walk.tokens[client_id] = token.get("access_token", "")
    walk.step("A call without a token is refused before it reaches the API")
    walk.get("/v1/certificates", expect=401, checks=[problem_type("unauthenticated")])


def submission(walk: Walkthrough) -> None:
    """The Auckland chamber, an issuing body, submits a certificate"""
    number = walk.run.certificate_number
    # The example certificate dated today, with the invoice values only the full view shows.
    commercial = bodies.commercial_payload()
    certificate = bodies.certificate_issued_on(walk.run.today, certificate_number=number, commercial=commercial)
    walk.step(f"The issuing body submits certificate {number}")
    issued = has("status", "valid_until", "commercial")
    first = walk.post("/v1/certificates", certificate, by=ISSUING_BODY, key="submit", expect=201, checks=[issued])
    walk.step("The same request again, same Idempotency-Key: the same answer, nothing stored twice")
    same = [lambda again: again == first]
    walk.post("/v1/certificates", certificate, by=ISSUING_BODY, key="submit", expect=201, checks=same)
    walk.step("The same number with other content is a conflict")
    other = {**certificate, "remarks": "Another certificate under the same number"}
    conflict = problem_type("certificate-number-exists")
    walk.post("/v1/certificates", other, by=ISSUING_BODY, expect=409, checks=[conflict])
    walk.step('A malformed certificate (hs_code "04022": five digits) is refused, naming the field')
    malformed = {**certificate, "items": [bodies.item_payload(1, hs_code="04022")]}
    walk.post("/v1/certificates", malformed, by=ISSUING_BODY, expect=422, checks=[names_field("hs_code")])


def views(walk: Walkthrough) -> None:
    """What each party sees of it (DESIGN.md §1)"""
    path = f"/v1/certificates/{walk.run.certificate_number}"
    for reader, who in ((ISSUING_BODY, "The issuing body"), (EXPORTER, "The exporter in box 1")):
        walk.step(f"{who} reads it: everything, commercial details included")
        walk.get(path, by=reader, checks=[has("commercial", "items")], show=projection)
    for reader, who in ((CN_CUSTOMS, "China Customs"), (NZ_CUSTOMS, "NZ Customs")):
        walk.step(f"{who} reads the FTA form's data, no commercial details")
        walk.get(path, by=reader, checks=[has("items"), lacks("commercial")], show=projection)
    walk.step("Operations see state and dates, no content")
    walk.get(path, by=OPS, checks=[lacks("commercial", "items", "exporter", "consignee")], show=projection)
    walk.step("Another exporter is told it does not exist")
    walk.get(path, by=OTHER_EXPORTER, expect=404, checks=[problem_type("not-found")])
    walk.step("The issuing body lists its certificates, newest first")
    listed = [lambda found: walk.run.certificate_number in [item["certificate_number"] for item in found["items"]]]
    walk.get("/v1/certificates?limit=100", by=ISSUING_BODY, checks=listed)
    walk.step("Its history: each event hashes the one before, and the chain verifies")
    walk.get(f"{path}/history", by=ISSUING_BODY, checks=[chain_holds()], show=history)


def delivery(walk: Walkthrough) -> None:
    """Delivery to China Customs: signed, acknowledged, recorded"""
    path = f"/v1/certificates/{walk.run.certificate_number}"
    delivered = [lambda found: [delivery["state"] for delivery in found["deliveries"]] == ["DELIVERED"]]
    walk.step("JEVS publishes the public key China verifies its signatures with")
    walk.get("/.well-known/jwks.json", media="application/jwk-set+json", checks=[has("keys")])
    walk.step("The certificate reaches China Customs (the simulator), signed; its receipt is kept (waits)")
    walk.get(f"{path}/delivery", by=ISSUING_BODY, checks=delivered, wait=True)
    walk.step("Operations see the same delivery state, and no certificate content")
    walk.get(f"{path}/delivery", by=OPS, checks=delivered)
    walk.step("Another exporter may not see deliveries at all")
    walk.get(f"{path}/delivery", by=OTHER_EXPORTER, expect=404, checks=[problem_type("not-found")])
    walk.step("The history records China's acknowledgement, still a valid chain")
    walk.get(f"{path}/history", by=ISSUING_BODY, checks=[chain_holds("DELIVERY_ACKNOWLEDGED")], show=history)
    walk.step("Operations start a redrive of the parked deliveries: a job the reconciler works in the background")
    job = walk.post("/v1/ops/redrives", {"queue": "deliveries"}, by=OPS, expect=202, checks=[has("id", "status")])
    walk.step("... and follow its progress (none are parked: it will move nothing)")
    walk.get(f"/v1/ops/redrives/{job.get('id', '')}", by=OPS, checks=[has("status", "moved", "quarantined")])
    walk.step("Anyone but operations is told there are no redrives")
    walk.get("/v1/ops/redrives", by=ISSUING_BODY, expect=404, checks=[problem_type("not-found")])


def matching(walk: Walkthrough) -> None:
    """Matching: customs declarations against the certificate"""
    number, run_id, today = walk.run.certificate_number, walk.run.run_id, walk.run.today.isoformat()
    mismatched, matched, other, entry = f"CN{run_id}01", f"CN{run_id}02", f"CN{run_id}03", f"NZ{run_id}01"
    # The example import declaration, declared today, quoting this run's certificate.
    declaration = partial(bodies.declaration_payload, certificate_number=number, declared_on=today)
    line = declaration()["lines"][0]
    walk.step("China Customs lodges an import declaration with a wrong HS code and too much milk powder")
    wrong = {**line, "hs_code": "0402291000", "quantity": {"value": "30000", "unit": "KGM"}}
    lodged = declaration(declaration_number=mismatched, lines=[wrong])
    walk.post("/v1/declarations", lodged, by=CN_CUSTOMS, expect=202, checks=[has("declaration_id", "status")])
    walk.step("Matching finds the discrepancies, line by line (waits for the decision)")
    decision = decided("MISMATCHED", "hs_code", "quantity")
    walk.get(f"/v1/declarations/CNIM-{mismatched}", by=CN_CUSTOMS, checks=[decision], wait=True)
    walk.step("China Customs lodges the example declaration (names its own way, a 10-digit tariff code)")
    walk.post("/v1/declarations", declaration(declaration_number=matched), by=CN_CUSTOMS, expect=202)
    walk.step("It is MATCHED: the goods clear, and the certificate is now used (waits)")
    walk.get(f"/v1/declarations/CNIM-{matched}", by=CN_CUSTOMS, checks=[decided("MATCHED")], wait=True)
    walk.step("The same declaration sent again finds the first, with its result")
    walk.post("/v1/declarations", declaration(declaration_number=matched), by=CN_CUSTOMS, checks=[decided("MATCHED")])
    walk.step("Another import declaration quotes the same certificate ...")
    walk.post("/v1/declarations", declaration(declaration_number=other), by=CN_CUSTOMS, expect=202)
    walk.step("... it is CERTIFICATE_ALREADY_USED (waits)")
    walk.get(f"/v1/declarations/CNIM-{other}", by=CN_CUSTOMS, checks=[decided("CERTIFICATE_ALREADY_USED")], wait=True)
    walk.step("NZ Customs lodges the export entry, quoting the certificate in its COO form")
    coo_form = "COO" + number.replace(".", "")
    lines = [{**line, "hs_code": "04022110000"}]  # NZ's 11-digit tariff item
    export_entry = declaration(declaration_number=entry, certificate_number=coo_form, lines=lines)
    walk.post("/v1/declarations", export_entry, by=NZ_CUSTOMS, expect=202)
    walk.step("... MATCHED; its result goes to NZ Customs' exchange bucket, never to China (waits)")
    walk.get(f"/v1/declarations/NZEX-{entry}", by=NZ_CUSTOMS, checks=[decided("MATCHED")], wait=True)
    walk.step("China Customs may not read NZ Customs' export entry")
    walk.get(f"/v1/declarations/NZEX-{entry}", by=CN_CUSTOMS, expect=404, checks=[problem_type("not-found")])
    walk.step("The exporter sees every result on its certificate, and its usage")
    path = f"/v1/certificates/{number}"
    walk.get(f"{path}/match-results", by=EXPORTER, checks=[has("usage", "matches")])
    walk.step("The history records each decision, still a valid chain")
    walk.get(f"{path}/history", by=ISSUING_BODY, checks=[chain_holds("DECLARATION_DECIDED")], show=history)
    walk.step("China Customs records box 5 on the matched declaration: preference GIVEN")
    given = {"declaration_number": matched, "decision": "GIVEN"}
    walk.post(f"{path}/preference-decisions", given, by=CN_CUSTOMS, expect=201, checks=[has("decision", "decided_at")])
    walk.step("A second decision on the same declaration is a conflict: box 5 is filled in once")
    refused = {**bodies.preference_decision_payload(), "declaration_number": matched}
    walk.post(
        f"{path}/preference-decisions",
        refused,
        by=CN_CUSTOMS,
        expect=409,
        checks=[problem_type("preference-already-decided")],
    )
    walk.step("The exporter reads the decision; its data file goes to NZ Customs' exchange bucket")
    walk.get(f"{path}/preference-decisions", by=EXPORTER, checks=[has("decisions")])


def lifecycle(walk: Walkthrough) -> None:
    """After issue: a declaration before its certificate, a correction, a revocation, a certified true copy"""
    early, corrected, revoked, copied = (walk.run.number(serial) for serial in range(1, 5))
    today = walk.run.today
    early_declaration = f"CN{walk.run.run_id}09"
    walk.step(f"China Customs lodges a declaration quoting {early}, which is not issued yet")
    declaration = bodies.declaration_payload(
        certificate_number=early, declared_on=today.isoformat(), declaration_number=early_declaration
    )
    walk.post("/v1/declarations", declaration, by=CN_CUSTOMS, expect=202)
    walk.step("... it is CERTIFICATE_NOT_FOUND for now (waits)")
    declaration_path = f"/v1/declarations/CNIM-{early_declaration}"
    walk.get(declaration_path, by=CN_CUSTOMS, checks=[decided("CERTIFICATE_NOT_FOUND")], wait=True)
    walk.step(f"The issuing body submits certificate {early}")
    walk.post(
        "/v1/certificates", bodies.certificate_issued_on(today, certificate_number=early), by=ISSUING_BODY, expect=201
    )
    walk.step("The waiting declaration is matched again by itself: MATCHED, and China is sent the new result (waits)")
    walk.get(declaration_path, by=CN_CUSTOMS, checks=[decided("MATCHED")], wait=True)

    walk.step(f"A correction: the issuing body replaces the used {early} with {corrected}, giving the reason")
    replacement = {
        "reason": "The consignee's address was misspelt",
        "certificate": bodies.certificate_issued_on(today, certificate_number=corrected),
    }
    replaces = [lambda found: found["replaces"] == early and found["status"] == "ISSUED"]
    walk.post(f"/v1/certificates/{early}/replacement", replacement, by=ISSUING_BODY, expect=201, checks=replaces)
    walk.step("The original now reads REPLACED and names its replacement")
    superseded = [lambda found: found["status"] == "REPLACED" and found["replaced_by"] == corrected]
    walk.get(f"/v1/certificates/{early}", by=ISSUING_BODY, checks=superseded)
    walk.step("The replacement took over the original's usage: what was drawn stays drawn")
    walk.get(
        f"/v1/certificates/{corrected}/match-results", by=EXPORTER, checks=[lambda found: found["usage"] == "USED"]
    )
    walk.step("A replaced certificate cannot be replaced again")
    again = {**replacement, "certificate": bodies.certificate_issued_on(today, certificate_number=revoked)}
    walk.post(
        f"/v1/certificates/{early}/replacement",
        again,
        by=ISSUING_BODY,
        expect=409,
        checks=[problem_type("certificate-not-issued")],
    )
    walk.step("The exporter cannot revoke it: to anyone but the issuing body that issued it, it does not exist")
    walk.post(
        f"/v1/certificates/{corrected}/revocation",
        {"reason": "Not ours"},
        by=EXPORTER,
        expect=404,
        checks=[problem_type("not-found")],
    )

    walk.step(f"A revocation: the issuing body submits {revoked} ...")
    walk.post(
        "/v1/certificates", bodies.certificate_issued_on(today, certificate_number=revoked), by=ISSUING_BODY, expect=201
    )
    walk.step("... and revokes it: the goods were not shipped")
    withdrawn = [lambda found: found["status"] == "REVOKED"]
    reason = {"reason": "The goods were not shipped"}
    walk.post(f"/v1/certificates/{revoked}/revocation", reason, by=ISSUING_BODY, checks=withdrawn)
    walk.step("Revoking it twice is a conflict")
    walk.post(
        f"/v1/certificates/{revoked}/revocation",
        reason,
        by=ISSUING_BODY,
        expect=409,
        checks=[problem_type("certificate-not-issued")],
    )
    walk.step("Anyone checking it sees it is no longer valid (no token)")
    walk.get(f"/v1/verify/{revoked}", checks=[lambda found: found["currently_valid"] is False])
    walk.step("China Customs is told of the revocation, signed (waits)")
    walk.get(f"/v1/certificates/{revoked}/delivery", by=ISSUING_BODY, checks=[delivered(2)], wait=True)

    walk.step(f"A certified true copy: the issuing body submits {copied}, whose original the exporter lost ...")
    walk.post(
        "/v1/certificates", bodies.certificate_issued_on(today, certificate_number=copied), by=ISSUING_BODY, expect=201
    )
    walk.step("... and issues a certified true copy: the same number and dates, version 2, marked as a copy")
    a_copy = [lambda found: found["version"] == 2 and found["certified_true_copy_of"] == copied]
    lost = {"reason": "The original was lost in transit"}
    walk.post(f"/v1/certificates/{copied}/certified-true-copy", lost, by=ISSUING_BODY, expect=201, checks=a_copy)
    walk.step("China Customs receives the copy as a message of its own (waits)")
    walk.get(f"/v1/certificates/{copied}/delivery", by=ISSUING_BODY, checks=[delivered(2)], wait=True)
    walk.step("Each history records what happened, and each chain verifies")
    walk.get(
        f"/v1/certificates/{early}/history", by=ISSUING_BODY, checks=[chain_holds("CERTIFICATE_REPLACED")], show=history
    )


def verification(walk: Walkthrough) -> None:
    """Verification of origin: China asks, the chamber answers with a document, China concludes"""
    number = walk.run.certificate_number
    walk.step(f"China Customs asks New Zealand to verify the origin of {number}'s goods; it is due in 90 days")
    raised = walk.post(
        "/v1/verification-requests",
        bodies.verification_request_payload(number),
        by=CN_CUSTOMS,
        expect=201,
        checks=[lambda found: found["status"] == "OPEN"],
    )
    walk.step("The exporter is not party to it: for it, the request does not exist")
    walk.get(raised["links"]["self"], by=EXPORTER, expect=404, checks=[problem_type("not-found")])
    walk.step("The chamber answers, attaching the exporter's cost statement (a PDF, checked by its bytes)")
    answered = [lambda found: found["status"] == "ANSWERED" and len(found["answer"]["attachments"]) == 1]
    walk.post(raised["links"]["response"], bodies.verification_answer_payload(), by=ISSUING_BODY, checks=answered)
    walk.step("Answering again is a conflict")
    walk.post(
        raised["links"]["response"],
        bodies.verification_answer_payload(),
        by=ISSUING_BODY,
        expect=409,
        checks=[problem_type("verification-answered")],
    )
    walk.step("The answer reaches China Customs, signed, as verification.response (waits)")
    walk.get(f"/v1/certificates/{number}/delivery", by=ISSUING_BODY, checks=[delivered(2)], wait=True)
    walk.step("China Customs closes the request: origin confirmed")
    conclusion = {"conclusion": "ORIGIN_CONFIRMED", "text": "The answer and the cost statement establish the origin."}
    walk.post(raised["links"]["closure"], conclusion, by=CN_CUSTOMS, checks=[lambda found: found["status"] == "CLOSED"])
    walk.step("The certificate's history records each step, still a valid chain")
    walk.get(f"/v1/certificates/{number}/history", by=ISSUING_BODY, checks=[chain_holds("VERIFICATION_CLOSED")])


def hosted_issuing(walk: Walkthrough) -> None:
    """Hosted issuing: goods, signatory, application, certificate, PDF"""
    walk.step("The exporter registers its goods with the chamber, with its evidence of origin (confidential)")
    goods = walk.post("/v1/goods-registrations", bodies.goods_payload(), by=EXPORTER, expect=201)
    walk.step("The chamber approves the goods for a year")
    a_year = {"decision": "APPROVED", "valid_until": (walk.run.today + timedelta(days=365)).isoformat()}
    walk.post(goods["links"]["decision"], a_year, by=ISSUING_BODY)
    walk.step("Another exporter may not see those goods or their evidence")
    walk.get(goods["links"]["self"], by=OTHER_EXPORTER, expect=404, checks=[problem_type("not-found")])
    walk.step("The exporter registers the person who signs its applications")
    signatory = walk.post("/v1/signatories", bodies.signatory_payload(), by=EXPORTER, expect=201)
    walk.step("The chamber approves the signatory")
    walk.post(signatory["links"]["decision"], {"decision": "APPROVED"}, by=ISSUING_BODY)
    walk.step("Goods lodged but not yet approved ...")
    butter = bodies.goods_payload(hs_code="040510", description="Butter, 82% fat")
    unapproved = walk.post("/v1/goods-registrations", butter, by=EXPORTER, expect=201)
    walk.step("... cannot be applied for: the application is refused, naming the registration")
    refused = bodies.application_payload(signatory["id"], [unapproved["id"]])
    walk.post("/v1/applications", refused, by=EXPORTER, expect=422, checks=[names_field("goods_registration_id")])
    walk.step("The exporter applies for a certificate; it is due within one NZ working day")
    application = bodies.application_payload(signatory["id"], [goods["id"]])
    lodged = walk.post("/v1/applications", application, by=EXPORTER, expect=201)
    walk.step("The chamber certifies it: the certificate is issued with its next number")
    issued = walk.post(f"{lodged['links']['self']}/certification", by=ISSUING_BODY, expect=201)["certificate_number"]
    walk.step("The application shows its certificate and that it met the one-working-day promise")
    certified = [lambda found: found["certificate_number"] == issued and found["met_due_time"] is True]
    walk.get(lodged["links"]["self"], by=EXPORTER, checks=certified)
    walk.step("The exporter downloads the PDF certificate (waits for it to be rendered)")
    a_pdf = [lambda pdf: pdf.startswith(b"%PDF-")]
    walk.get(f"/v1/certificates/{issued}/document", by=EXPORTER, media="application/pdf", checks=a_pdf, wait=True)
    walk.step("Anyone scanning its QR code checks it: valid, and who issued it (no token)")
    walk.get(f"/v1/verify/{issued}", checks=[lambda found: found["currently_valid"] is True])


def run_walkthrough(api_url: str, *, out: TextIO = sys.stdout, scenario: Scenario | None = None) -> list[StepResult]:
    """Every chapter against the API at ``api_url``, printed to ``out``; each step's result."""
    with httpx.Client(base_url=api_url, timeout=30) as http:
        walk = Walkthrough(http, out, scenario or Scenario.fresh())
        walk.say(f"JEVS walkthrough against {api_url}, certificate {walk.run.certificate_number}")
        for chapter in (tokens, submission, views, delivery, matching, lifecycle, verification, hosted_issuing):
            walk.say(f"\n== {chapter.__doc__} ==")
            try:
                chapter(walk)
            except (KeyError, TypeError, IndexError, httpx.HTTPError) as error:
                # No answer, or a later step needs what a failed one should have answered (an id, a link).
                walk.say(f"     -> {error!r}: the rest of this chapter cannot be sent   FAILED")
                walk.results.append(StepResult(f"{walk.title} (and the rest of {chapter.__name__})", repr(error)))
    failed = [f"\n  FAILED: {result.title}: {result.problem}" for result in walk.results if not result.passed]
    walk.say(f"\n{len(walk.results) - len(failed)} of {len(walk.results)} steps as expected.{''.join(failed)}")
    return walk.results


def main() -> int:
    api_url = os.environ.get("JEVS_API_URL", "http://127.0.0.1:8080").rstrip("/")
    try:
        httpx.get(f"{api_url}/openapi.json", timeout=2)
    except httpx.HTTPError:
        print(f"Nothing answers at {api_url}; starting a local stack for this walkthrough.", flush=True)
        # The functions' own logs and metrics would interleave with the walkthrough; `make run` shows them. This
        # process prints no metrics (Powertools reads the switch when it would print), and logs warnings only.
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        with LocalStack(api_port=0, moto_port=0, lambda_port=0, quiet=True) as stack:
            return 0 if all(result.passed for result in run_walkthrough(stack.api_url)) else 1
    return 0 if all(result.passed for result in run_walkthrough(api_url)) else 1


# -- the step helper ------------------------------------------------------------------------------------
# What happens behind a queue (delivery, matching, the PDF) is asked after again for up to this long.
PATIENCE_SECONDS = 30
# A check is a claim about the answer's body (its JSON, else its bytes) that holds when true. It may index
# into the body freely: an answer of another shape fails the step, and is printed for the reader to see why.
Check = Callable[[Any], bool]


class Scenario(NamedTuple):
    """What one run works with: the parties, a certificate number no earlier run used, and New Zealand's day."""

    clients: Mapping[str, Client]
    certificate_number: str
    today: date
    run_id: str

    @classmethod
    def fresh(cls) -> Scenario:
        moment = datetime.now(NEW_ZEALAND)
        # Tenths of a second, cut to the nine digits after the chamber's prefix "11.": a new number per run
        # (they repeat after about three years, long after a local stack has gone).
        tenths = int(moment.timestamp() * 10) % 10**9
        clients = {client.client_id: client for client in load_clients()}
        return cls(clients, _numbered(tenths), moment.date(), f"{tenths:09d}")

    def number(self, serial: int) -> str:
        """This run's ``serial``-th certificate after its first (a run takes far longer than this many tenths of
        a second, so the next run's numbers start after them)."""
        return _numbered((int(self.run_id) + serial) % 10**9)


def _numbered(tenths: int) -> str:
    return f"11.{tenths // 10**5:04d}.{tenths % 10**5:05d}"


class StepResult(NamedTuple):
    title: str
    problem: str | None  # None when the step got what it expected

    @property
    def passed(self) -> bool:
        return self.problem is None


class Options(TypedDict, total=False):
    expect: int  # the status expected: 200 unless said
    media: str  # the media type expected: unless said, JSON, or an RFC 9457 problem for a 4xx status
    checks: Sequence[Check]
    show: Callable[[Any], Any]  # the view of the answer to print, if not the trimmed answer itself
    key: str  # names the Idempotency-Key when a retry reuses it; each other API POST gets its own
    wait: bool  # ask again, once a second, until the answer is as expected or patience runs out
    basic: tuple[str, str]  # a token request (OAuth2 client credentials grant) with this client's credentials


@dataclass
class Walkthrough:
    """``step`` opens a step with its title; ``get`` or ``post`` then sends its request as party ``by``,
    prints it and the answer, checks the answer and returns its JSON body for later steps."""

    http: httpx.Client
    out: TextIO
    run: Scenario
    tokens: dict[str, str] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)
    title: str = ""

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def step(self, title: str) -> None:
        self.title = title
        self.say(f"\n[{len(self.results) + 1:2d}] {title}")

    def get(self, path: str, *, by: str | None = None, **options: Unpack[Options]) -> dict[str, Any]:
        return self._send("GET", path, None, by, options)

    def post(self, path: str, body: Any = None, *, by: str | None = None, **options: Unpack[Options]) -> dict[str, Any]:
        return self._send("POST", path, body, by, options)

    def _send(self, method: str, path: str, body: Any, by: str | None, options: Options) -> dict[str, Any]:
        basic = options.get("basic")
        form = {"grant_type": "client_credentials"} if basic else None
        party = self.run.clients[by].party if by else None
        caller = f"as {by} ({party['type']} {party['id']})" if party else "(no token)"
        self.say(f"     {method} {path}   {f'(HTTP Basic as {basic[0]})' if basic else caller}")
        # A party whose token was refused calls without one, and is told so.
        token = self.tokens.get(by or "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        media = options.get("media")
        if media in BINARY_MEDIA_TYPES:
            # A binary answer comes as bytes only to a request that asks first for its media type (API Gateway's rule).
            headers["Accept"] = media
            self.say(f"     Accept: {media}")
        if method == "POST" and form is None:
            headers["Idempotency-Key"] = f"demo-{self.run.run_id}-{options.get('key', len(self.results) + 1)}"
            self.say(f"     Idempotency-Key: {headers['Idempotency-Key']}")
        if body is not None or form is not None:
            self.say(f"     {'body' if form is None else 'form'}: {_one_line(body or form, 160)}")
        deadline = time.monotonic() + (PATIENCE_SECONDS if options.get("wait") else 0)
        while True:
            response = self.http.request(method, path, headers=headers, json=body, data=form, auth=basic)
            answer, problem = _verdict(response, options)
            if problem is None or time.monotonic() >= deadline:
                break
            time.sleep(1)
        self.results.append(StepResult(self.title, problem))
        verdict = f"FAILED: {problem}" if problem else "ok"
        self.say(f"     -> {response.status_code} {response.reason_phrase}   {verdict}")
        for name in ("Location", "Idempotent-Replayed", "WWW-Authenticate"):
            if name in response.headers:
                self.say(f"     {name}: {response.headers[name]}")
        self.say(_shown(answer, options.get("show")))
        return answer if isinstance(answer, dict) else {}


def _verdict(response: httpx.Response, options: Options) -> tuple[Any, str | None]:
    """The answer's body, and what is wrong with the answer (None if nothing)."""
    expect = options.get("expect", 200)
    media = options.get("media", "application/problem+json" if expect >= 400 else "application/json")
    received = response.headers.get("content-type", "").split(";")[0]
    body: Any = response.content
    with contextlib.suppress(ValueError):
        body = response.json() if received.endswith("json") else body
    if response.status_code != expect or received != media:
        return body, f"expected {expect} {media}, got {response.status_code} {received}"
    if media == "application/problem+json" and not {"type", "title", "status", "detail"} <= body.keys():
        return body, "not an RFC 9457 problem: type, title, status and detail"
    try:
        failed = [str(number) for number, check in enumerate(options.get("checks", ()), start=1) if not check(body)]
    except (KeyError, TypeError, IndexError, AttributeError) as unexpected:
        return body, f"the answer is not shaped as expected ({unexpected!r})"
    return body, f"check {', '.join(failed)} of this step does not hold (the answer is below)" if failed else None


# -- checks ---------------------------------------------------------------------------------------------
def has(*names: str) -> Check:
    return lambda found: set(names) <= found.keys()


def lacks(*names: str) -> Check:
    return lambda found: not set(names) & found.keys()


def problem_type(slug: str) -> Check:
    """The problem is of kind ``slug``: its type is that page of the documentation site, wherever the site is."""
    return lambda problem: str(problem["type"]).endswith(f"/problems/{slug}/")


def names_field(name: str) -> Check:
    """A problem with an error on field ``name`` (``items[0].hs_code`` names ``hs_code``)."""
    return lambda problem: any(error["field"].endswith(name) for error in problem["errors"])


def chain_holds(event_type: str = "") -> Check:
    """The history's hash chain verifies, and it records an ``event_type`` (any, unless said)."""
    return lambda h: h["chain"]["valid"] is True and any(e["type"].startswith(event_type) for e in h["events"])


def delivered(count: int) -> Check:
    """The certificate has ``count`` deliveries to China, each delivered."""
    return lambda found: [delivery["state"] for delivery in found["deliveries"]] == ["DELIVERED"] * count


def decided(status: str, *fields: str) -> Check:
    """The declaration is decided ``status``, with discrepancies on at least ``fields``."""
    return lambda found: found["status"] == status and set(fields) <= {d["field"] for d in found["discrepancies"]}


# -- what to print --------------------------------------------------------------------------------------
CONTENT = ("exporter", "producer", "consignee", "transport", "remarks", "items", "commercial")


def projection(found: Any) -> Any:
    """Which of the certificate's own data the caller's view shows (DESIGN.md §1)."""
    shown = ", ".join(name for name in CONTENT if name in found) or "(none)"
    hidden = ", ".join(name for name in CONTENT if name not in found) or "(none)"
    return {"view": found.get("view"), "shown": shown, "not shown": hidden, "commercial": found.get("commercial")}


def history(found: Any) -> Any:
    events = [f"{e['sequence']} {e['type']} by {e['actor']}, hash {e['hash'][:16]}..." for e in found["events"]]
    return {"events": events, "chain": found["chain"]}


def _one_line(value: Any, width: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 4] + " ..."


def _shown(answer: Any, show: Callable[[Any], Any] | None) -> str:
    """A trimmed view of the answer: a line per field that has a value and per item of a list, at most 14."""
    if isinstance(answer, bytes):
        return f"       ({len(answer):,} bytes: {answer[:8]!r} ...)"
    with contextlib.suppress(KeyError, TypeError, IndexError, AttributeError):  # else it is shown whole
        answer = show(answer) if show else answer
    lines = []
    for name, value in answer.items() if isinstance(answer, dict) else [("body", answer)]:
        if isinstance(value, list) and value:
            lines += [f"{name}:", *(f"  - {_one_line(item, 108)}" for item in value)]
        elif value not in (None, [], {}):
            lines.append(f"{name}: {_one_line(value, 110)}")
    more = [f"... ({len(lines) - 14} more lines)"] if len(lines) > 14 else []
    return "\n".join(f"       {line}" for line in lines[:14] + more)


if __name__ == "__main__":
    sys.exit(main())
