"""Logs carry ids and outcomes, never commercial content nor credentials (DESIGN.md §1; issue 14, build 6).

Every log line written while the whole walkthrough runs against the local stack, and while a short fault campaign
puts each kind of China's misbehaviour in the dispatcher's way, is searched for every commercial value and every
credential that was actually sent: each request to the API, to the token endpoint and to China is recorded as it
leaves its client (``httpx.Client.send``), and China's answers for the reasons it gave. The lines are the
functions' (each Powertools logger's JSON, as Lambda sends it to CloudWatch), the local pieces' (gateway, pollers,
the simulator) and whatever was printed (the metrics)."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from infrastructure.local.china_customs import ENDPOINT_PATH, ChinaCustomsSimulator
from infrastructure.local.demo import run_walkthrough
from infrastructure.local.pollers import wait_until
from infrastructure.local.request_bodies import certificate_payload
from infrastructure.local.stack import LocalStack
from jevs.domain.registrations import exporter_of
from tests.e2e.conftest import TokenFor
from tests.e2e.test_delivery import Partner, numbers, states, still_pending
from tests.logs import log_lines

pytestmark = pytest.mark.e2e

# Named to run after test_delivery.py: that module's own stack resets moto's state, which is per process, so the
# session's stack (which this module uses) must not exist before it, as it does not when the e2e tier starts.

# A key whose value (and everything under it) is commercial content: the parties' names and addresses, their
# business numbers, invoices, goods, marks, vessels, free text, contact details and attached documents.
COMMERCIAL_KEY = re.compile(
    r"name|address|business_number|invoice|description|marks|vessel|remarks|reason|text|comment|note|email|"
    r"phone|contact|position|content|filename|document"
)
# Shorter values (a country code, a unit) are no one's secret, and would be found by chance; so would a date (an
# invoice's, say) in a log line's timestamp.
SHORTEST = 4
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# China's free-text reason for the campaign's rejections: it quotes the certificate, as a real one may.
CHINAS_REASON = "Consignee Shanghai Harbour Foods Co., Ltd. not registered for invoice INV-2026-0042"


@dataclass
class Sent:
    """Every value a test's clients sent that no log may carry, and the reasons China answered with."""

    commercial: set[str] = field(default_factory=set)
    credentials: set[str] = field(default_factory=set)
    # The exporters' business numbers that JEVS's own registration ids carry (``jevs.domain.registrations.new_id``:
    # the id names its exporter's partition), found in the ids it answered with: ids, which logs may carry.
    in_ids: set[str] = field(default_factory=set)
    requests: int = 0

    def note_request(self, request: httpx.Request) -> None:
        self.requests += 1
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered == "authorization":
                scheme, _, credential = value.partition(" ")
                self.credentials.add(credential)
                if scheme.lower() == "basic":
                    self.credentials.add(base64.b64decode(credential).decode().partition(":")[2])
            elif lowered == "x-api-key":
                self.credentials.add(value)
        content = request.content
        if not content:
            return
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(content.decode()))
            self.credentials.update(value for key, value in form.items() if "secret" in key)
            return
        try:
            self._commercial(json.loads(content), inside=False)
        except ValueError:
            return

    def note_response(self, request: httpx.Request, response: httpx.Response) -> None:
        """Tokens handed out (sent back as bearers), and China's free-text reasons."""
        try:
            answer = json.loads(response.content)
        except ValueError:
            return
        if not isinstance(answer, dict):
            return
        self._ids(answer)
        if isinstance(answer.get("access_token"), str):
            self.credentials.add(answer["access_token"])
        if request.url.path == ENDPOINT_PATH:
            self.commercial.update(str(answer[key]) for key in ("reason", "detail") if answer.get(key))

    def _ids(self, value: Any) -> None:
        if isinstance(value, dict):
            for each in value.values():
                self._ids(each)
        elif isinstance(value, list):
            for each in value:
                self._ids(each)
        elif isinstance(value, str) and (exporter := exporter_of(value)) is not None:
            self.in_ids.add(exporter)

    def _commercial(self, value: Any, *, inside: bool) -> None:
        if isinstance(value, dict):
            for key, each in value.items():
                self._commercial(each, inside=inside or bool(COMMERCIAL_KEY.search(str(key))))
        elif isinstance(value, list):
            for each in value:
                self._commercial(each, inside=inside)
        elif inside and isinstance(value, str):
            self.commercial.add(value)

    @property
    def searched(self) -> set[str]:
        values = self.commercial | self.credentials
        return {value for value in values if len(value) >= SHORTEST and not DATE.fullmatch(value)} - self.in_ids


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Records what every httpx client in this process sends (the walkthrough's, the partners', the dispatcher's)."""
    recorded = Sent()
    send: Callable[..., httpx.Response] = httpx.Client.send

    def recording(self: httpx.Client, request: httpx.Request, **options: Any) -> httpx.Response:
        recorded.note_request(request)
        response = send(self, request, **options)
        if not options.get("stream"):
            recorded.note_response(request, response)
        return response

    monkeypatch.setattr(httpx.Client, "send", recording)
    return recorded


@pytest.fixture
def china(stack: LocalStack) -> Iterator[ChinaCustomsSimulator]:
    assert stack.china is not None, "the e2e stack delivers to its own simulator"
    yield stack.china
    stack.china.faults.clear()


def fault_campaign(stack: LocalStack, china: ChinaCustomsSimulator, partner: Partner) -> None:
    """Each kind of China's misbehaviour in the dispatcher's way, briefly: business rejections with a reason that
    quotes the certificate, dropped connections, messages stored with the answer lost, failures (some throttling
    with Retry-After), answers held past the dispatcher's timeout; then a configuration error (401, with China's
    detail) that parks a delivery until a redrive."""
    campaign = numbers("11.0014", 10)
    china.faults.reject_next(2, reason=CHINAS_REASON).drop_next(2).accept_then_fail(2).fail_fraction(
        0.2, status=429, retry_after=1, seed=5
    ).delay(1.5, fraction=0.1, seed=3)
    for number in campaign:
        partner.post(
            "/v1/certificates", certificate_payload(certificate_number=number), "local-akl-chamber", number
        ).raise_for_status()
    partner.act(campaign[-1], "revocation", {"reason": "Origin not proven for Kauri Dairy's milk powder"})
    assert wait_until(lambda: not still_pending(stack), 60, 1)
    china.faults.clear()
    china.faults.fail_next(1, status=401)
    misconfigured = "11.0014.00011"
    partner.post(
        "/v1/certificates", certificate_payload(certificate_number=misconfigured), "local-akl-chamber", misconfigured
    ).raise_for_status()
    assert wait_until(lambda: partner.delivery(misconfigured)["state"] == "PARKED", 20)
    partner.redrive()
    assert wait_until(lambda: partner.delivery(misconfigured)["state"] == "DELIVERED", 20)
    outcomes = set(states(stack, [*campaign, misconfigured]).values())
    assert {state.value for state in outcomes} == {"DELIVERED", "REJECTED"}


def test_no_log_line_of_the_walkthrough_or_a_fault_campaign_carries_a_value_or_credential_sent(
    stack: LocalStack,
    china: ChinaCustomsSimulator,
    token_for: TokenFor,
    sent: Sent,
    capsys: pytest.CaptureFixture[str],
) -> None:
    partner = Partner(stack, token_for)
    with log_lines() as logs:
        walked = run_walkthrough(stack.api_url, out=io.StringIO())
        fault_campaign(stack, china, partner)
    partner.http.close()
    printed = capsys.readouterr()
    lines = logs.lines + printed.out.splitlines() + printed.err.splitlines()
    searched = sent.searched

    assert all(step.passed for step in walked), [step for step in walked if not step.passed]
    assert CHINAS_REASON in searched
    assert len(sent.credentials) >= 3
    leaks = {value: line for value in sorted(searched) for line in lines if value in line}
    with capsys.disabled():
        print(
            f"\nlog test: {len(searched)} values sent ({len(sent.commercial)} commercial, {len(sent.credentials)}"
            f" credentials; {len(sent.in_ids)} business number(s) left out as part of registration ids) from"
            f" {sent.requests} requests, searched in {len(lines)} log lines: {len(leaks)} found"
        )
    assert not leaks
