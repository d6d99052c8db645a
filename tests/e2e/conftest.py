"""End-to-end tier: one local stack for the whole session, called over real HTTP as a partner calls it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from infrastructure.local.gateway import LocalLambdaContext
from infrastructure.local.pollers import Schedule
from infrastructure.local.stack import LocalStack
from infrastructure.local.tokens import PARTIES_FILE

# How long the e2e stacks try a delivery before they park it (6 hours in production).
RETRY_HORIZON_SECONDS = 30

# Give it a demo client id (infrastructure/local/parties.json), get a bearer token for that party.
TokenFor = Callable[[str], str]


@contextmanager
def e2e_stack(parties_file: Path = PARTIES_FILE) -> Iterator[LocalStack]:
    """moto and the API behind the local gateway, on free ports, with fresh moto state, tuned for tests; the
    demo parties, or those of ``parties_file``.

    Its moto is a process of its own (``infrastructure.local.aws_server``), apart from any other stack's and from
    the moto other tiers of the same session mock in this process; its functions run in this process, and the
    pollers feed them only while an e2e test runs (see ``_functions_fed``).
    """
    with LocalStack(
        api_port=0,
        moto_port=0,
        lambda_port=0,
        parties_file=parties_file,
        start_active=False,
        # Faster than production so fault tests take seconds: 1 s timeouts against China (so an attempt takes at
        # most 4 s), retries without backoff (at most 2 s apart), a retry horizon of 30 s instead of 6 h, China's
        # circuit opening after 5 failures in a row for 1 s (at most 2 s), reconciliation of anything pending (or
        # any work open) over a second, run by the tests themselves.
        overrides={
            "china_connect_timeout_seconds": 1,
            "china_read_timeout_seconds": 1,
            "delivery_backoff_base_seconds": 0,
            "delivery_backoff_max_seconds": 2,
            "delivery_retry_horizon_seconds": RETRY_HORIZON_SECONDS,
            "china_circuit_cooldown_seconds": 1,
            "china_circuit_max_cooldown_seconds": 2,
            "reconciliation_bound_seconds": 1,
            "open_declaration_bound_seconds": 1,
            "open_documents_bound_seconds": 1,
            "open_outbox_bound_seconds": 1,
        },
        reconcile_every_seconds=3600,
        # Every party's usage plan a hundred times over: the tests call as fast as the machine lets them, and only
        # the throttle's own tests (with a gateway of their own) are to meet it.
        party_throttle_scale=100,
    ) as running:
        # A dispatcher that crashes leaves its message invisible for the queue's visibility timeout (3 min);
        # 2 s here, so the tests see the message come back without waiting minutes.
        sqs = running.aws_client("sqs")
        sqs.set_queue_attributes(QueueUrl=running.resources.delivery.queue, Attributes={"VisibilityTimeout": "2"})
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules with a stack of their own first, then those on the session's stack. Stacks once shared moto's
    state in this process, and starting one reset it under the session's stack (a signing key no longer there:
    503s on every submission after it). Each stack's moto is a process of its own now; the order stays, so that
    nothing a module's own stack leaves in this process (loggers' levels, Powertools' globals) can reach the
    session's stack mid-run. It does not hang on file names (test_correlation.py sorted before test_delivery.py
    and broke every module after it)."""
    e2e = Path(__file__).parent

    def runs_first(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        if module is None or e2e not in Path(str(item.path)).parents:
            return 0
        return 0 if "stack" in vars(module) else 1

    items.sort(key=runs_first)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """One stack for the session: each test makes its own certificate numbers."""
    with e2e_stack() as running:
        yield running


@pytest.fixture(autouse=True)
def _functions_fed(stack: LocalStack) -> Iterator[None]:
    with stack.active():
        yield


def reconciliation_run(stack: LocalStack) -> dict[str, Any]:
    """One run of the scheduled reconciler, with the event EventBridge sends: its report."""
    schedule = stack.pollers["reconciler"]
    assert isinstance(schedule, Schedule)
    result: dict[str, Any] = stack.functions.reconciler(
        schedule.event(), LocalLambdaContext(stack.identity, "reconcile")
    )
    return result


def token_source(stack: LocalStack) -> TokenFor:
    """Tokens from the stack's token endpoint (HTTP Basic, client credentials), one per client."""
    tokens: dict[str, str] = {}

    def token_for(client_id: str) -> str:
        if client_id not in tokens:
            tokens[client_id] = stack.token(client_id)
        return tokens[client_id]

    return token_for


@pytest.fixture(scope="session")
def token_for(stack: LocalStack) -> TokenFor:
    """A token for a demo client id, one per client per session."""
    return token_source(stack)


# A partner's client waits as long as API Gateway lets an integration run (29 s): the local stack shares two
# cores with the test run, and a request that is merely slow is not the failure under test.
PARTNER_TIMEOUT_SECONDS = 30


@pytest.fixture
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    """An HTTP client for the API's base URL; pass ``headers={"Authorization": f"Bearer {token_for(...)}"}``."""
    with httpx.Client(base_url=stack.api_url, timeout=PARTNER_TIMEOUT_SECONDS) as client:
        yield client
