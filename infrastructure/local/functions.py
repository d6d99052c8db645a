"""Every JEVS function on one machine: each built by the composition root (``jevs.bootstrap``) from settings
of its own, made here from what was provisioned, with AWS clients pointed at the local AWS. Nothing is read
from or written to ``os.environ``: the same process may run several stacks, and tests, side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from functions.api.handler import make_handler as api_handler
from functions.dispatcher.handler import make_handler as dispatcher_handler
from functions.matcher.handler import make_handler as matcher_handler
from functions.notifier.handler import make_handler as notifier_handler
from functions.outbox_relay.handler import make_handler as relay_handler
from functions.overseer.handler import make_handler as overseer_handler
from functions.reconciler.handler import make_handler as reconciler_handler
from infrastructure.local.gateway import SITE_PATH
from infrastructure.local.provision import Provisioned
from infrastructure.local.tokens import TOKEN_PATH
from jevs import bootstrap
from jevs.adapters.aws import AwsClients
from jevs.bootstrap import Handler
from jevs.service.ports import Clock
from jevs.settings import (
    ApiSettings,
    DispatcherSettings,
    FunctionSettings,
    MatcherSettings,
    NotifierSettings,
    OverseerSettings,
    ReconcilerSettings,
    RelaySettings,
)

SettingsT = TypeVar("SettingsT", bound=FunctionSettings)


@dataclass(frozen=True)
class LocalOptions:
    """What the machine decides rather than the provisioning: who the parties are, where China Customs and the
    public API are, and any setting to change for every function that has it (tests run with short timeouts)."""

    parties: str
    china_customs_endpoint: str
    verification_base_url: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # The documentation site problems link to; None: the one the gateway serves (``<verification_base_url>/site``).
    docs_url: str | None = None


@dataclass(frozen=True)
class FunctionSet:
    api: Handler
    relay: Handler
    dispatcher: Handler
    reconciler: Handler
    matcher: Handler
    notifier: Handler
    overseer: Handler


def _settings(model: type[SettingsT], values: Mapping[str, Any], overrides: Mapping[str, Any]) -> SettingsT:
    relevant = {name: value for name, value in overrides.items() if name in model.variables()}
    return model.of({**values, **relevant})


def function_settings(resources: Provisioned, options: LocalOptions) -> dict[str, FunctionSettings]:
    """Each function's settings, as the CDK stack gives them to it in AWS."""
    table = resources.records_table
    delivery = resources.delivery
    overrides = options.overrides
    return {
        "api": _settings(
            ApiSettings,
            {
                "records_table": table,
                "parties": options.parties,
                "signing_key_id": resources.signing_key_id,
                "documents_bucket": resources.documents_bucket,
                "exchange_bucket": resources.exchange_bucket,
                "docs_url": options.docs_url or f"{options.verification_base_url}{SITE_PATH}",
                # The local gateway serves the token endpoint beside the API.
                "token_url": f"{options.verification_base_url}{TOKEN_PATH}",
            },
            overrides,
        ),
        "relay": _settings(
            RelaySettings,
            {
                "records_table": table,
                "delivery_queue_url": delivery.queue,
                "declarations_queue_url": resources.declarations.queue,
                "notifications_queue_url": resources.notifications.queue,
            },
            overrides,
        ),
        "dispatcher": _settings(
            DispatcherSettings,
            {
                "records_table": table,
                "signing_key_id": resources.signing_key_id,
                "china_customs_endpoint": options.china_customs_endpoint,
                "delivery_queue_url": delivery.queue,
                "delivery_dead_letter_queue_url": delivery.dead_letters,
            },
            overrides,
        ),
        "reconciler": _settings(
            ReconcilerSettings,
            {
                "records_table": table,
                "delivery_queue_url": delivery.queue,
                # Redrive jobs: every dead-letter queue, where its messages go back, the key that seals a resumption.
                "signing_key_id": resources.signing_key_id,
                "declarations_queue_url": resources.declarations.queue,
                "notifications_queue_url": resources.notifications.queue,
                "delivery_dead_letter_queue_url": delivery.dead_letters,
                "declarations_dead_letter_queue_url": resources.declarations.dead_letters,
                "notifications_dead_letter_queue_url": resources.notifications.dead_letters,
                "stream_failures_queue_url": resources.stream_failures,
            },
            overrides,
        ),
        "matcher": _settings(
            MatcherSettings, {"records_table": table, "signing_key_id": resources.signing_key_id}, overrides
        ),
        "notifier": _settings(
            NotifierSettings,
            {
                "records_table": table,
                "exchange_bucket": resources.exchange_bucket,
                "documents_bucket": resources.documents_bucket,
                "sender_email": resources.sender_email,
                "verification_base_url": options.verification_base_url,
            },
            overrides,
        ),
        "overseer": _settings(
            OverseerSettings, {"records_table": table, "signing_key_id": resources.signing_key_id}, overrides
        ),
    }


def build_functions(
    resources: Provisioned, options: LocalOptions, aws: AwsClients, clock: Clock | None = None
) -> FunctionSet:
    """Every function's handler, as Lambda would run it, over the given AWS (and clock, for tests that move it)."""
    settings = function_settings(resources, options)

    def of(name: str, model: type[SettingsT]) -> SettingsT:
        found = settings[name]
        assert isinstance(found, model)
        return found

    return FunctionSet(
        api=api_handler(bootstrap.api(of("api", ApiSettings), aws, clock)),
        relay=relay_handler(bootstrap.relay(of("relay", RelaySettings), aws, clock)),
        dispatcher=dispatcher_handler(bootstrap.dispatcher(of("dispatcher", DispatcherSettings), aws, clock)),
        reconciler=reconciler_handler(bootstrap.reconciler(of("reconciler", ReconcilerSettings), aws, clock)),
        matcher=matcher_handler(bootstrap.matcher(of("matcher", MatcherSettings), aws, clock)),
        notifier=notifier_handler(bootstrap.notifier(of("notifier", NotifierSettings), aws, clock)),
        overseer=overseer_handler(bootstrap.overseer(of("overseer", OverseerSettings), aws, clock)),
    )
