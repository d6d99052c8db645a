"""A walkthrough of JEVS over HTTP: ``python -m infrastructure.local.demo`` (``make demo``).

It talks to the API at ``JEVS_API_URL`` (default http://127.0.0.1:8080, where ``make run`` listens); if
nothing answers there it starts a local stack of its own on free ports and stops it at the end. Each
step prints the request, the answer's status and the part of its body worth seeing, and checks both;
the exit status is 1 if any step got other than it expected.

Every run makes a new certificate number and today's dates, so runs can repeat against one stack.

Steps come in sections, one per capability (``SECTIONS``): a capability adds a function that turns the
``Scenario`` into its steps, and appends it there.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import httpx

from infrastructure.local.stack import EXAMPLE_CERTIFICATE, LocalStack
from infrastructure.local.tokens import TOKEN_PATH, Client, load_clients

EXAMPLE_DECLARATION = EXAMPLE_CERTIFICATE.with_name("declaration.json")
DEFAULT_API_URL = "http://127.0.0.1:8080"
NEW_ZEALAND = ZoneInfo("Pacific/Auckland")

# The demo parties of parties.json, by the part each plays.
ISSUING_BODY = "local-akl-chamber"
EXPORTER = "local-kauri-dairy"  # box 1 of the demo certificate
OTHER_EXPORTER = "local-tui-wines"
NZ_CUSTOMS = "local-nz-customs"
CN_CUSTOMS = "local-cn-customs"
OPS = "local-ops"

_BODY_LINES = 14
# Response headers that tell part of the story.
_SHOWN_HEADERS = ("Location", "Idempotent-Replayed", "WWW-Authenticate")
_STRING_CHARACTERS = 72


@dataclass(frozen=True)
class Scenario:
    """What one run works with: the parties, and a certificate number no earlier run used."""

    clients: Mapping[str, Client]
    certificate_number: str
    today: date
    run_id: str

    @classmethod
    def fresh(cls, clients: Sequence[Client], now: datetime | None = None) -> Scenario:
        moment = now or datetime.now(NEW_ZEALAND)
        # Tenths of a second, cut to the nine digits after the issuing body's "11.": a new number per run
        # (they repeat after about three years, long after a local stack has gone).
        tenths = int(moment.timestamp() * 10) % 10**9
        number = f"11.{tenths // 10**5:04d}.{tenths % 10**5:05d}"
        return cls(
            clients={client.client_id: client for client in clients},
            certificate_number=number,
            today=moment.astimezone(NEW_ZEALAND).date(),
            run_id=f"{tenths:09d}",
        )

    def certificate(self) -> dict[str, Any]:
        """The example certificate with this run's number and dates, and commercial details to show who sees them."""
        document: dict[str, Any] = json.loads(EXAMPLE_CERTIFICATE.read_text(encoding="utf-8"))
        document["certificate_number"] = self.certificate_number
        # Issued today in New Zealand, shipped today: neither in the future nor retrospective.
        document["issue_date"] = self.today.isoformat()
        document["transport"]["departure_date"] = self.today.isoformat()
        for item in document["items"]:
            item["invoice"]["date"] = (self.today - timedelta(days=2)).isoformat()
        document["commercial"] = {
            "invoice_values": [{"invoice_number": "INV-2026-0042", "amount": "112500.00", "currency": "NZD"}]
        }
        return document

    def idempotency_key(self, purpose: str) -> str:
        return f"demo-{self.run_id}-{purpose}"

    def declaration(self, number: str, **changes: Any) -> dict[str, Any]:
        """The example import declaration (DESIGN §5) quoting this run's certificate, declared today."""
        document: dict[str, Any] = json.loads(EXAMPLE_DECLARATION.read_text(encoding="utf-8"))
        document.update(declaration_number=number, certificate_number=self.certificate_number)
        document["declared_on"] = self.today.isoformat()
        document.update(changes)
        return document


class Walkthrough:
    """Runs steps against one API, keeping the tokens and answers later steps refer to."""

    def __init__(self, http: httpx.Client, out: TextIO, party_names: Mapping[str, str]) -> None:
        self.http = http
        self.out = out
        # client id -> "type id" of its party, for the printout.
        self.party_names = party_names
        self.tokens: dict[str, str] = {}
        self.answers: dict[str, httpx.Response] = {}

    def run(self, sections: Sequence[tuple[str, Sequence[Step]]]) -> list[StepResult]:
        results: list[StepResult] = []
        for heading, steps in sections:
            self._print(f"\n== {heading} ==")
            for step in steps:
                results.append(self.run_step(step, number=len(results) + 1))
        return results

    def run_step(self, step: Step, number: int) -> StepResult:
        self._print(f"\n[{number:2d}] {step.title}")
        try:
            # A later step may name what an earlier one created (an id, a link): resolved now, not when built.
            path = step.path(self) if callable(step.path) else step.path
            json_body = step.json_body(self) if callable(step.json_body) else step.json_body
        except (KeyError, TypeError, ValueError) as missing:
            self._print(f"     -> cannot be built: an earlier answer is missing ({missing!r})   FAILED")
            return StepResult(step, None, f"an earlier answer is missing: {missing!r}")
        self._print(f"     {step.method} {path}{self._caller(step)}")
        headers = dict(step.headers)
        for name, value in headers.items():
            self._print(f"     {name}: {value}")
        if step.caller is not None and step.caller in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[step.caller]}"
        if json_body is not None:
            self._print(f"     body: {_one_line(json_body)}")
        if step.form is not None:
            self._print(f"     form: {'&'.join(f'{key}={value}' for key, value in step.form.items())}")
        deadline = time.monotonic() + step.keep_asking_seconds
        while True:
            try:
                response = self.http.request(
                    step.method,
                    path,
                    headers=headers,
                    json=json_body,
                    data=dict(step.form) if step.form is not None else None,
                    auth=step.basic_auth,
                )
            except httpx.HTTPError as error:
                self._print(f"     -> no answer: {error!r}   FAILED")
                return StepResult(step, None, f"no answer: {error!r}")
            problem = (
                None if response.status_code == step.expect else f"expected {step.expect}, got {response.status_code}"
            )
            if problem is None and step.check is not None:
                problem = step.check(self, response)
            if problem is None or time.monotonic() >= deadline:
                break
            time.sleep(1)
        if step.remember_as is not None:
            self.answers[step.remember_as] = response
        verdict = "ok" if problem is None else f"FAILED: {problem}"
        self._print(f"     -> {response.status_code} {response.reason_phrase}   {verdict}")
        for name in _SHOWN_HEADERS:
            if name in response.headers:
                self._print(f"     {name}: {response.headers[name]}")
        self._print(_shown_body(response, step.show))
        return StepResult(step, response.status_code, problem)

    def _caller(self, step: Step) -> str:
        if step.basic_auth is not None:
            return f"   (HTTP Basic as {step.basic_auth[0]})"
        if step.caller is None:
            return "   (no token)"
        return f"   as {step.caller} ({self.party_names.get(step.caller, 'unknown party')})"

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


# What a step checks beyond the status: None when the answer is as it should be, else why not.
Check = Callable[[Walkthrough, httpx.Response], str | None]
# Picks the part of an answer's JSON body worth printing.
Show = Callable[[Any], Any]


@dataclass(frozen=True)
class Step:
    title: str
    method: str
    # A path, or how to make it from earlier answers (see ``from_answer``).
    path: str | Callable[[Walkthrough], str]
    expect: int
    # The client whose bearer token goes with the request; None sends none.
    caller: str | None = None
    # A JSON body, or how to make it from earlier answers.
    json_body: Any = None
    form: Mapping[str, str] | None = None
    basic_auth: tuple[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    check: Check | None = None
    show: Show | None = None
    # Keep the answer for later steps' checks.
    remember_as: str | None = None
    # For what happens asynchronously (delivery to China): ask again, once a second, until the check
    # passes or this many seconds have gone by.
    keep_asking_seconds: float = 0.0


@dataclass(frozen=True)
class StepResult:
    step: Step
    status: int | None
    problem: str | None

    @property
    def passed(self) -> bool:
        return self.problem is None


# -- checks ---------------------------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def all_of(*checks: Check) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        return next((problem for c in checks if (problem := c(walk, response)) is not None), None)

    return check


def keeps_token(client_id: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        body = _json(response)
        if not isinstance(body, dict) or body.get("token_type") != "Bearer" or not body.get("access_token"):
            return "no bearer access_token in the answer"
        walk.tokens[client_id] = body["access_token"]
        return None

    return check


def is_problem(type_ending: str | None = None) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        if response.headers.get("content-type", "").split(";")[0] != "application/problem+json":
            return "not application/problem+json"
        body = _json(response)
        if not isinstance(body, dict) or not {"type", "title", "status", "detail"} <= body.keys():
            return "not an RFC 9457 problem (type, title, status, detail)"
        if type_ending is not None and not str(body["type"]).endswith(type_ending):
            return f"problem type {body['type']!r}, expected one ending {type_ending!r}"
        return None

    return check


def has_fields(*names: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        body = _json(response)
        missing = [name for name in names if not isinstance(body, dict) or name not in body]
        return f"missing {', '.join(missing)}" if missing else None

    return check


def lacks_fields(*names: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        body = _json(response)
        present = [name for name in names if isinstance(body, dict) and name in body]
        return f"must not show {', '.join(present)}" if present else None

    return check


def same_body_as(remembered: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        first = walk.answers.get(remembered)
        if first is None:
            return f"no earlier answer {remembered!r} to compare with"
        if (first.status_code, _json(first)) != (response.status_code, _json(response)):
            return "a different answer from the first request"
        return None

    return check


def names_field(fragment: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        body = _json(response)
        errors = body.get("errors") if isinstance(body, dict) else None
        fields = [str(error.get("field")) for error in errors or [] if isinstance(error, dict)]
        return None if any(fragment in name for name in fields) else f"no error names {fragment!r} (got {fields})"

    return check


def lists(number: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        body = _json(response)
        items = body.get("items") if isinstance(body, dict) else None
        numbers = [item.get("certificate_number") for item in items or [] if isinstance(item, dict)]
        return None if number in numbers else f"{number} is not in the list"

    return check


def chain_is_valid(walk: Walkthrough, response: httpx.Response) -> str | None:
    body = _json(response)
    chain = body.get("chain") if isinstance(body, dict) else None
    if not isinstance(chain, dict) or chain.get("valid") is not True:
        return f"the hash chain does not verify: {chain}"
    return None


# -- what to print --------------------------------------------------------------------------------------


def pick(*names: str) -> Show:
    def show(body: Any) -> Any:
        return {name: body[name] for name in names if name in body} if isinstance(body, dict) else body

    return show


# The certificate's own data in a response; which of it a caller sees is its projection (DESIGN §1).
_CONTENT_FIELDS = ("exporter", "producer", "consignee", "transport", "remarks", "items", "commercial")


def projection(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {
        "certificate_number": body.get("certificate_number"),
        "view": body.get("view"),
        "status": body.get("status"),
        "shown": ", ".join(name for name in _CONTENT_FIELDS if name in body) or "(none)",
        "not shown": ", ".join(name for name in _CONTENT_FIELDS if name not in body) or "(none)",
        "commercial": _commercial(body["commercial"]) if "commercial" in body else "(not shown)",
    }


def _commercial(details: Any) -> str:
    values = details.get("invoice_values") if isinstance(details, dict) else None
    if not isinstance(values, list) or not all(isinstance(value, dict) for value in values):
        return _one_line(details)
    return "; ".join(f"{v.get('invoice_number')}: {v.get('amount')} {v.get('currency')}" for v in values)


def listing(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    items = [item for item in body.get("items") or [] if isinstance(item, dict)]
    return {
        "count": len(items),
        "first": [
            f"{item.get('certificate_number')}  {item.get('status')}  issued {item.get('issue_date')}  "
            f"to {item.get('importing_country')}"
            for item in items[:5]
        ],
        "next_cursor": body.get("next_cursor"),
    }


def history(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    events = body.get("events") or []
    return {
        "events": [
            {key: event.get(key) for key in ("sequence", "type", "actor", "previous_hash", "hash")} for event in events
        ],
        "chain": body.get("chain"),
    }


def _trimmed(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _STRING_CHARACTERS:
        return value[: _STRING_CHARACTERS - 3] + "..."
    if isinstance(value, dict):
        return {key: _trimmed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trimmed(item) for item in value]
    return value


def _one_line(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown_body(response: httpx.Response, show: Show | None) -> str:
    if response.headers.get("content-type", "").startswith("application/pdf"):
        return f"       (a PDF of {len(response.content):,} bytes)"
    body = _json(response)
    if body is None:
        text = response.text.strip()
        return f"       {text[:200]}" if text else "       (no body)"
    lines = json.dumps(_trimmed(show(body) if show else body), indent=2, ensure_ascii=False).splitlines()
    if len(lines) > _BODY_LINES:
        lines = [*lines[:_BODY_LINES], f"... ({len(lines) - _BODY_LINES} more lines)"]
    return "\n".join(f"       {line}" for line in lines)


# -- the sections ---------------------------------------------------------------------------------------


def token_steps(scenario: Scenario) -> list[Step]:
    steps = [
        Step(
            f"{client_id} gets an access token (OAuth2 client credentials)",
            "POST",
            TOKEN_PATH,
            200,
            form={"grant_type": "client_credentials"},
            basic_auth=(client_id, client.client_secret),
            check=keeps_token(client_id),
        )
        for client_id, client in scenario.clients.items()
    ]
    steps.append(
        Step(
            "A call without a token is refused before it reaches the API function",
            "GET",
            "/v1/certificates",
            401,
            check=is_problem("unauthenticated"),
        )
    )
    return steps


def certificate_steps(scenario: Scenario) -> list[Step]:
    number = scenario.certificate_number
    path = f"/v1/certificates/{number}"
    certificate = scenario.certificate()
    submission_key = {"Idempotency-Key": scenario.idempotency_key("submit")}
    other_content = {**certificate, "remarks": "A different certificate under the same number"}
    malformed = {**certificate, "items": [{**certificate["items"][0], "hs_code": "04022"}]}
    return [
        Step(
            f"The issuing body submits certificate {number}",
            "POST",
            "/v1/certificates",
            201,
            caller=ISSUING_BODY,
            json_body=certificate,
            headers=submission_key,
            check=has_fields("status", "valid_until", "commercial"),
            show=pick("certificate_number", "status", "version", "issuing_body", "valid_until", "links"),
            remember_as="submitted",
        ),
        Step(
            "The same request again, same Idempotency-Key: the same answer, nothing stored twice",
            "POST",
            "/v1/certificates",
            201,
            caller=ISSUING_BODY,
            json_body=certificate,
            headers=submission_key,
            check=same_body_as("submitted"),
            show=pick("certificate_number", "status", "version"),
        ),
        Step(
            "The same number with other content is a conflict",
            "POST",
            "/v1/certificates",
            409,
            caller=ISSUING_BODY,
            json_body=other_content,
            headers={"Idempotency-Key": scenario.idempotency_key("other-content")},
            check=is_problem("certificate-number-exists"),
        ),
        Step(
            "The issuing body reads it: everything, commercial details included",
            "GET",
            path,
            200,
            caller=ISSUING_BODY,
            check=has_fields("commercial", "items"),
            show=projection,
        ),
        Step(
            "The exporter in box 1 reads it: everything",
            "GET",
            path,
            200,
            caller=EXPORTER,
            check=has_fields("commercial", "items"),
            show=projection,
        ),
        Step(
            "Another exporter is told it does not exist",
            "GET",
            path,
            404,
            caller=OTHER_EXPORTER,
            check=is_problem("not-found"),
        ),
        Step(
            "China Customs reads the FTA form's data, no commercial details",
            "GET",
            path,
            200,
            caller=CN_CUSTOMS,
            check=all_of(has_fields("items"), lacks_fields("commercial")),
            show=projection,
        ),
        Step(
            "NZ Customs reads the FTA form's data, no commercial details",
            "GET",
            path,
            200,
            caller=NZ_CUSTOMS,
            check=all_of(has_fields("items"), lacks_fields("commercial")),
            show=projection,
        ),
        Step(
            "Operations see state and dates, no content",
            "GET",
            path,
            200,
            caller=OPS,
            check=lacks_fields("commercial", "items", "exporter", "consignee"),
            show=projection,
        ),
        Step(
            "The issuing body lists its certificates, newest first",
            "GET",
            "/v1/certificates?limit=100",
            200,
            caller=ISSUING_BODY,
            check=lists(number),
            show=listing,
        ),
        Step(
            "Its history, with the hash chain verified",
            "GET",
            f"{path}/history",
            200,
            caller=ISSUING_BODY,
            check=chain_is_valid,
            show=history,
        ),
        Step(
            'A malformed certificate (hs_code "04022": five digits) is refused, naming the field',
            "POST",
            "/v1/certificates",
            422,
            caller=ISSUING_BODY,
            json_body=malformed,
            headers={"Idempotency-Key": scenario.idempotency_key("malformed")},
            check=all_of(is_problem(), names_field("hs_code")),
        ),
    ]


# Later capabilities (goods registrations, verification) add their section to SECTIONS, in the order the
# mission tells the story.
def delivery_steps(scenario: Scenario) -> list[Step]:
    number = scenario.certificate_number
    return [
        Step(
            "JEVS publishes the public key China verifies its signatures with",
            "GET",
            "/.well-known/jwks.json",
            200,
            check=has_fields("keys"),
        ),
        Step(
            "The certificate reaches China Customs, signed; China's receipt is kept (waits for delivery)",
            "GET",
            f"/v1/certificates/{number}/delivery",
            200,
            caller=ISSUING_BODY,
            check=delivered,
            keep_asking_seconds=30,
        ),
        Step(
            "Operations see the same delivery state, and no certificate content",
            "GET",
            f"/v1/certificates/{number}/delivery",
            200,
            caller=OPS,
            check=delivered,
        ),
        Step(
            "Another exporter may not see deliveries at all",
            "GET",
            f"/v1/certificates/{number}/delivery",
            404,
            caller=OTHER_EXPORTER,
            check=is_problem("not-found"),
        ),
        Step(
            "The history now records China's acknowledgement, still a valid chain",
            "GET",
            f"/v1/certificates/{number}/history",
            200,
            caller=ISSUING_BODY,
            check=all_of(chain_is_valid, has_event("DELIVERY_ACKNOWLEDGED")),
            show=history,
        ),
        Step(
            "Operations redrive parked deliveries (none are parked: nothing moves)",
            "POST",
            "/v1/ops/deliveries/redrive",
            200,
            caller=OPS,
            headers={"Idempotency-Key": scenario.idempotency_key("redrive")},
        ),
    ]


def delivered(walk: Walkthrough, response: httpx.Response) -> str | None:
    deliveries = _json(response).get("deliveries") or [{}]
    state = deliveries[0].get("state")
    return None if state == "DELIVERED" else f"delivery is {state}"


def has_event(event_type: str) -> Check:
    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        types = [event.get("type") for event in _json(response).get("events", [])]
        return None if event_type in types else f"no {event_type} event in {types}"

    return check


def matching_steps(scenario: Scenario) -> list[Step]:
    number = scenario.certificate_number
    mismatched, matched, other = (f"CN{scenario.run_id}{suffix}" for suffix in ("01", "02", "03"))
    entry = f"NZ{scenario.run_id}01"
    wrong_line = {
        **scenario.declaration(mismatched)["lines"][0],
        "hs_code": "0402291000",
        "quantity": {"value": "30000", "unit": "KGM"},
    }
    return [
        Step(
            "China Customs lodges an import declaration with a wrong HS code and too much milk powder",
            "POST",
            "/v1/declarations",
            202,
            caller=CN_CUSTOMS,
            json_body=scenario.declaration(mismatched, lines=[wrong_line]),
            headers={"Idempotency-Key": scenario.idempotency_key("declare-mismatched")},
            check=has_fields("declaration_id", "status"),
            show=pick("declaration_id", "status", "links"),
        ),
        Step(
            "Matching finds the discrepancies, line by line (waits for the decision)",
            "GET",
            f"/v1/declarations/CNIM-{mismatched}",
            200,
            caller=CN_CUSTOMS,
            check=decided_as("MISMATCHED", "hs_code", "quantity"),
            show=pick("status", "discrepancies"),
            keep_asking_seconds=30,
        ),
        Step(
            "China Customs lodges a declaration that agrees (names written its own way, a 10-digit tariff code)",
            "POST",
            "/v1/declarations",
            202,
            caller=CN_CUSTOMS,
            json_body=scenario.declaration(matched),
            headers={"Idempotency-Key": scenario.idempotency_key("declare-matched")},
            show=pick("declaration_id", "status"),
        ),
        Step(
            "It is MATCHED: the goods clear; the certificate is now used (waits for the decision)",
            "GET",
            f"/v1/declarations/CNIM-{matched}",
            200,
            caller=CN_CUSTOMS,
            check=decided_as("MATCHED"),
            show=pick("status", "discrepancies", "decided_at"),
            keep_asking_seconds=30,
        ),
        Step(
            "The same declaration sent again finds the first, with its result",
            "POST",
            "/v1/declarations",
            200,
            caller=CN_CUSTOMS,
            json_body=scenario.declaration(matched),
            headers={"Idempotency-Key": scenario.idempotency_key("declare-matched-again")},
            check=decided_as("MATCHED"),
            show=pick("declaration_id", "status"),
        ),
        Step(
            "Another import declaration may not use the same certificate",
            "POST",
            "/v1/declarations",
            202,
            caller=CN_CUSTOMS,
            json_body=scenario.declaration(other),
            headers={"Idempotency-Key": scenario.idempotency_key("declare-other")},
        ),
        Step(
            "... it is CERTIFICATE_ALREADY_USED (waits for the decision)",
            "GET",
            f"/v1/declarations/CNIM-{other}",
            200,
            caller=CN_CUSTOMS,
            check=decided_as("CERTIFICATE_ALREADY_USED"),
            show=pick("status", "discrepancies"),
            keep_asking_seconds=30,
        ),
        Step(
            "NZ Customs lodges the export entry, quoting the certificate in its COO form",
            "POST",
            "/v1/declarations",
            202,
            caller=NZ_CUSTOMS,
            json_body=scenario.declaration(
                entry,
                certificate_number="COO" + number.replace(".", ""),
                lines=[{**scenario.declaration(entry)["lines"][0], "hs_code": "04022110000"}],
            ),
            headers={"Idempotency-Key": scenario.idempotency_key("export-entry")},
            show=pick("declaration_id", "certificate_number", "status"),
        ),
        Step(
            "... MATCHED; its result goes to NZ Customs' exchange bucket, never to China (waits)",
            "GET",
            f"/v1/declarations/NZEX-{entry}",
            200,
            caller=NZ_CUSTOMS,
            check=decided_as("MATCHED"),
            show=pick("status", "declarant"),
            keep_asking_seconds=30,
        ),
        Step(
            "China Customs may not read NZ Customs' export entry",
            "GET",
            f"/v1/declarations/NZEX-{entry}",
            404,
            caller=CN_CUSTOMS,
            check=is_problem("not-found"),
        ),
        Step(
            "The exporter sees every result on its certificate, and its usage",
            "GET",
            f"/v1/certificates/{number}/match-results",
            200,
            caller=EXPORTER,
            check=has_fields("usage", "matches"),
            show=match_summary,
        ),
        Step(
            "The history records each decision, still a valid chain",
            "GET",
            f"/v1/certificates/{number}/history",
            200,
            caller=ISSUING_BODY,
            check=all_of(chain_is_valid, has_event("DECLARATION_DECIDED")),
            show=history,
        ),
    ]


def answered(remembered: str, *keys: str) -> Callable[[Walkthrough], str]:
    """A value from an earlier answer's JSON body, e.g. ``answered("goods", "links", "decision")``."""

    def value(walk: Walkthrough) -> str:
        found: Any = walk.answers[remembered].json()
        for key in keys:
            found = found[key]
        return str(found)

    return value


def hosted_steps(scenario: Scenario) -> list[Step]:
    today = scenario.today
    certificate = scenario.certificate()
    goods = {
        "issuing_body": "akl-chamber",
        "hs_code": "040221",
        "description": "Whole milk powder, 26% fat, in 25 kg bags",
        "origin_criterion": "WO",
        "producer": {"disclosure": "SAME"},
        "evidence": {
            "statement": "Milk from our own Waikato farms, dried at our Te Rapa plant.",
            "currency": "NZD",
            "cost_build_up": [{"component": "raw milk", "origin_country": "NZ", "value": "3.10"}],
        },
    }
    signatory = {
        "issuing_body": "akl-chamber",
        "name": "Aroha Ngata",
        "position": "Export Manager",
        "email": "aroha.ngata@kauri-dairy.example.nz",
        "phone": "+64 9 555 0100",
    }
    item = certificate["items"][0]

    def application(walk: Walkthrough, registration: str = "goods") -> dict[str, Any]:
        return {
            "issuing_body": "akl-chamber",
            "signatory_id": answered("signatory", "id")(walk),
            **{box: certificate[box] for box in ("exporter", "producer", "consignee", "transport", "remarks")},
            "items": [
                {
                    "item_number": 1,
                    "goods_registration_id": answered(registration, "id")(walk),
                    **{
                        key: item[key]
                        for key in ("marks_and_numbers", "packages", "quantity", "gross_weight_kg", "invoice")
                    },
                }
            ],
        }

    def key(purpose: str) -> dict[str, str]:
        return {"Idempotency-Key": scenario.idempotency_key(purpose)}

    return [
        Step(
            "The exporter registers its goods with the chamber, with the evidence of origin (confidential)",
            "POST",
            "/v1/goods-registrations",
            201,
            caller=EXPORTER,
            json_body=goods,
            headers=key("goods"),
            show=pick("id", "status", "links"),
            remember_as="goods",
        ),
        Step(
            "The chamber approves the goods for a year",
            "POST",
            answered("goods", "links", "decision"),
            200,
            caller=ISSUING_BODY,
            json_body={"decision": "APPROVED", "valid_until": (today + timedelta(days=365)).isoformat()},
            headers=key("goods-approval"),
            show=pick("id", "status", "approved_until"),
        ),
        Step(
            "Another exporter may not see those goods or their evidence",
            "GET",
            answered("goods", "links", "self"),
            404,
            caller=OTHER_EXPORTER,
            check=is_problem("not-found"),
        ),
        Step(
            "The exporter registers the person who signs its applications",
            "POST",
            "/v1/signatories",
            201,
            caller=EXPORTER,
            json_body=signatory,
            headers=key("signatory"),
            show=pick("id", "status"),
            remember_as="signatory",
        ),
        Step(
            "The chamber approves the signatory",
            "POST",
            answered("signatory", "links", "decision"),
            200,
            caller=ISSUING_BODY,
            json_body={"decision": "APPROVED"},
            headers=key("signatory-approval"),
            show=pick("id", "status"),
        ),
        Step(
            "Goods lodged but not yet approved ...",
            "POST",
            "/v1/goods-registrations",
            201,
            caller=EXPORTER,
            json_body={**goods, "hs_code": "040510", "description": "Butter, 82% fat"},
            headers=key("goods-unapproved"),
            show=pick("id", "status"),
            remember_as="unapproved",
        ),
        Step(
            "... cannot be applied for: the application is refused, naming the registration",
            "POST",
            "/v1/applications",
            422,
            caller=EXPORTER,
            json_body=lambda walk: application(walk, "unapproved"),
            headers=key("application-refused"),
            check=all_of(is_problem(), names_field("goods_registration_id")),
        ),
        Step(
            "The exporter applies for a certificate; it is due within one NZ working day",
            "POST",
            "/v1/applications",
            201,
            caller=EXPORTER,
            json_body=application,
            headers=key("application"),
            show=pick("id", "status", "lodged_at", "due_at"),
            remember_as="application",
        ),
        Step(
            "The chamber certifies it: the certificate is issued with the next number",
            "POST",
            lambda walk: f"{answered('application', 'links', 'self')(walk)}/certification",
            201,
            caller=ISSUING_BODY,
            headers=key("certification"),
            show=pick("certificate_number", "status", "issue_date", "valid_until"),
            remember_as="certified",
        ),
        Step(
            "The application shows its certificate and that it met the one-working-day promise",
            "GET",
            answered("application", "links", "self"),
            200,
            caller=EXPORTER,
            show=pick("status", "certificate_number", "due_at", "decided_at", "met_due_time"),
        ),
        Step(
            "The exporter downloads the PDF certificate (waits for it to be rendered)",
            "GET",
            lambda walk: f"/v1/certificates/{answered('certified', 'certificate_number')(walk)}/document",
            200,
            caller=EXPORTER,
            check=is_pdf,
            keep_asking_seconds=30,
        ),
        Step(
            "Anyone scanning the QR code checks the certificate: valid, and who issued it",
            "GET",
            lambda walk: f"/v1/verify/{answered('certified', 'certificate_number')(walk)}",
            200,
            show=pick("certificate_number", "currently_valid", "issuing_body", "issue_date"),
        ),
    ]


def is_pdf(walk: Walkthrough, response: httpx.Response) -> str | None:
    if response.headers.get("content-type", "").split(";")[0] != "application/pdf":
        return f"content type {response.headers.get('content-type')}, not application/pdf"
    return None if response.content.startswith(b"%PDF") else "the body is not a PDF"


def decided_as(status: str, *fields: str) -> Check:
    """The declaration is decided with ``status``, with discrepancies on at least ``fields``."""

    def check(walk: Walkthrough, response: httpx.Response) -> str | None:
        body = _json(response)
        if not isinstance(body, dict) or body.get("status") != status:
            return f"status is {body.get('status') if isinstance(body, dict) else body}, expected {status}"
        found = {d.get("field") for d in body.get("discrepancies") or [] if isinstance(d, dict)}
        missing = [name for name in fields if name not in found]
        return f"no discrepancy on {', '.join(missing)}" if missing else None

    return check


def match_summary(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    matches = [m for m in body.get("matches") or [] if isinstance(m, dict)]
    return {
        "usage": body.get("usage"),
        "matches": [
            f"{m.get('declaration_id')}  {m.get('status')}  {len(m.get('discrepancies') or [])} discrepancies"
            for m in matches
        ],
    }


SECTIONS: tuple[tuple[str, Callable[[Scenario], list[Step]]], ...] = (
    ("Parties get their tokens", token_steps),
    ("A certificate from submission to history", certificate_steps),
    ("Delivery to China Customs: signed, acknowledged, recorded", delivery_steps),
    ("Matching: customs declarations against the certificate", matching_steps),
    ("Hosted issuing: goods, signatory, application, certificate, PDF", hosted_steps),
)


def run_walkthrough(api_url: str, *, out: TextIO = sys.stdout, scenario: Scenario | None = None) -> list[StepResult]:
    """Every step of every section against the API at ``api_url``, printed to ``out``."""
    run = scenario or Scenario.fresh(load_clients())
    party_names = {
        client_id: f"{client.party.get('type')} {client.party.get('id')}" for client_id, client in run.clients.items()
    }
    with httpx.Client(base_url=api_url, timeout=30) as http:
        walk = Walkthrough(http, out, party_names)
        print(f"JEVS walkthrough against {api_url}, certificate {run.certificate_number}", file=out)
        results = walk.run([(heading, build(run)) for heading, build in SECTIONS])
    failed = [result for result in results if not result.passed]
    print(f"\n{len(results) - len(failed)} of {len(results)} steps as expected.", file=out)
    for result in failed:
        print(f"  FAILED: {result.step.title}: {result.problem}", file=out)
    return results


def _answers(api_url: str) -> bool:
    try:
        httpx.get(f"{api_url}/openapi.json", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def main() -> int:
    api_url = os.environ.get("JEVS_API_URL", DEFAULT_API_URL).rstrip("/")
    if _answers(api_url):
        results = run_walkthrough(api_url)
    else:
        print(f"Nothing answers at {api_url}; starting a local stack for this walkthrough.", flush=True)
        # The function's own logs would interleave with the walkthrough; `make run` shows them.
        quiet = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
        with LocalStack(api_port=0, moto_port=0, environment_overrides=quiet) as stack:
            results = run_walkthrough(stack.api_url)
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
