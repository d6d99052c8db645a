"""Every function: the runtime the build compiles for, arm64, a role and a log group of its own, JSON logs, its
environment encrypted with the data key, X-Ray active tracing, the reserved concurrency of its definition, and a
dead-letter queue for the scheduled ones."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from aws_cdk import aws_logs as logs

from infrastructure.cdk.functions import ARCHITECTURE, DOMAIN_LAYER_DESCRIPTION, LOG_RETENTION, RUNTIME
from jevs.resources import (
    API_FUNCTION,
    DISPATCHER_FUNCTION,
    FUNCTIONS,
    LAYERS,
    MATCHER_FUNCTION,
    NOTIFIER_FUNCTION,
    OUTBOX_RELAY_FUNCTION,
    OVERSEER_FUNCTION,
    RECONCILER_FUNCTION,
    RESERVED_CONCURRENCY_TOTAL,
    SCHEDULE_FAILURES_QUEUE,
    FunctionDefinition,
)
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
from tests.infrastructure.support import (
    data_key,
    function_by_handler,
    function_grants,
    properties,
    queue_by_name,
    references,
    resources,
    target,
    target_id,
)

pytestmark = pytest.mark.infrastructure

_ids = [definition.logical_id for definition in FUNCTIONS]


def _function(template: dict[str, Any], definition: FunctionDefinition) -> dict[str, Any]:
    return properties(template, function_by_handler(template, definition.handler))


def test_the_stack_deploys_exactly_the_defined_functions(template: dict[str, Any]) -> None:
    handlers = [function["Properties"]["Handler"] for function in resources(template, "AWS::Lambda::Function").values()]

    assert sorted(handlers) == sorted(definition.handler for definition in FUNCTIONS)


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_function_runs_the_runtime_the_build_compiles_for_on_arm64(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    function = _function(template, definition)

    assert function["Runtime"] == RUNTIME.name
    assert function["Architectures"] == [ARCHITECTURE.name] == ["arm64"]
    assert function["Timeout"] == definition.timeout_seconds
    assert function["MemorySize"] == definition.memory_mb


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_function_logs_json_to_its_own_encrypted_log_group_with_retention(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    logging = _function(template, definition)["LoggingConfig"]
    log_group = target_id(logging["LogGroup"])
    assert log_group is not None

    assert logging["LogFormat"] == "JSON"
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert LOG_RETENTION == logs.RetentionDays.ONE_YEAR
    assert properties(template, log_group)["RetentionInDays"] == 365
    assert template["Resources"][log_group]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_function_reserves_its_defined_concurrency_and_traces_with_x_ray(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    function = _function(template, definition)

    assert function["ReservedConcurrentExecutions"] == definition.reserved_concurrency >= 1
    assert function["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_functions_environment_is_encrypted_with_the_data_key(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    key = target(_function(template, definition)["KmsKeyArn"])

    assert key == (data_key(template), "Arn")
    # Lambda decrypts the environment as the function's role at each cold start: without this it never starts.
    assert "kms:Decrypt" in function_grants(template, definition.handler)[(data_key(template), "Arn")]


def test_a_burst_of_queued_work_cannot_starve_the_api_nor_the_account() -> None:
    """Each queue consumer reserves what its event source may run and no more; the API reserves the most; and the
    total leaves the account's other functions far more than the 100 unreserved AWS insists on (at Lambda's
    default quota of 1000)."""
    queue_consumers = (DISPATCHER_FUNCTION, MATCHER_FUNCTION, NOTIFIER_FUNCTION)

    assert API_FUNCTION.reserved_concurrency > max(definition.reserved_concurrency for definition in queue_consumers)
    # A scheduled run never overlaps the previous one.
    assert RECONCILER_FUNCTION.reserved_concurrency == OVERSEER_FUNCTION.reserved_concurrency == 1
    assert RESERVED_CONCURRENCY_TOTAL == sum(definition.reserved_concurrency for definition in FUNCTIONS) == 132
    assert 1000 - RESERVED_CONCURRENCY_TOTAL >= 100


@pytest.mark.parametrize("definition", [RECONCILER_FUNCTION, OVERSEER_FUNCTION], ids=["reconciler", "overseer"])
def test_a_scheduled_run_that_fails_for_good_lands_in_the_schedule_failures_queue(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    """Both ends of an asynchronous invocation: EventBridge failing to invoke, and Lambda's own retries spent."""
    failures = queue_by_name(template, SCHEDULE_FAILURES_QUEUE.name)
    function_id = function_by_handler(template, definition.handler)

    assert target(_function(template, definition)["DeadLetterConfig"]["TargetArn"]) == (failures, "Arn")
    [rule_target] = [
        rule_target
        for rule in resources(template, "AWS::Events::Rule").values()
        for rule_target in rule["Properties"]["Targets"]
        if target_id(rule_target["Arn"]) == function_id
    ]
    assert target(rule_target["DeadLetterConfig"]["Arn"]) == (failures, "Arn")


@pytest.mark.parametrize(
    "definition", [d for d in FUNCTIONS if d not in (RECONCILER_FUNCTION, OVERSEER_FUNCTION)], ids=lambda d: d.folder
)
def test_a_function_invoked_synchronously_has_no_dead_letter_queue_of_its_own(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    """API Gateway and event source mappings invoke synchronously: their failures go to the caller or to the
    queue's own dead-letter queue, never to a function's."""
    assert "DeadLetterConfig" not in _function(template, definition)


def test_no_two_functions_share_a_log_group_or_a_role(template: dict[str, Any]) -> None:
    functions = [function["Properties"] for function in resources(template, "AWS::Lambda::Function").values()]
    log_groups = Counter(target_id(function["LoggingConfig"]["LogGroup"]) for function in functions)
    roles = Counter(target_id(function["Role"]) for function in functions)

    assert set(log_groups.values()) == {1}
    assert set(roles.values()) == {1}


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_functions_role_is_its_own_and_only_lambda_assumes_it(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    role = target(_function(template, definition)["Role"])
    assert role is not None
    assert role[1] == "Arn"
    trust = properties(template, role[0])["AssumeRolePolicyDocument"]["Statement"]

    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
    # Nothing else in the template uses the role: not another function, not an event rule, not a state machine.
    users = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::Role")
        and role[0] in {logical_id for logical_id, _ in references(resource.get("Properties", {}))}
    }
    assert users == {function_by_handler(template, definition.handler)}


# Which settings each function reads (its handler module passes this model to jevs.bootstrap.lambda_entry).
_SETTINGS: dict[str, type[FunctionSettings]] = {
    API_FUNCTION.logical_id: ApiSettings,
    OUTBOX_RELAY_FUNCTION.logical_id: RelaySettings,
    DISPATCHER_FUNCTION.logical_id: DispatcherSettings,
    RECONCILER_FUNCTION.logical_id: ReconcilerSettings,
    MATCHER_FUNCTION.logical_id: MatcherSettings,
    NOTIFIER_FUNCTION.logical_id: NotifierSettings,
    OVERSEER_FUNCTION.logical_id: OverseerSettings,
}


def test_every_function_has_a_settings_model() -> None:
    assert set(_SETTINGS) == {definition.logical_id for definition in FUNCTIONS}


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_function_is_given_every_setting_it_requires_and_none_it_does_not_read(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    model = _SETTINGS[definition.logical_id]
    given = {name for name in _function(template, definition)["Environment"]["Variables"] if name.startswith("JEVS_")}
    variables = model.variables()
    required = {variables[name] for name in model.required()}

    assert required <= given
    assert given <= set(variables.values())


def test_the_api_function_names_cognitos_token_endpoint_for_the_openapi_document(template: dict[str, Any]) -> None:
    # The document the API serves gives partners this URL for their tokens: Cognito's domain of this stack, not a
    # path on the API (where no token endpoint is in AWS).
    token_url = _function(template, API_FUNCTION)["Environment"]["Variables"]["JEVS_TOKEN_URL"]
    domains = set(resources(template, "AWS::Cognito::UserPoolDomain"))

    assert len(domains) == 1
    assert {logical_id for logical_id, _ in references(token_url)} >= domains
    assert json.dumps(token_url).startswith('{"Fn::Join": ["", ["https://", ')
    assert json.dumps(token_url).endswith('".amazoncognito.com/oauth2/token"]]}')


def _layer_descriptions(template: dict[str, Any]) -> dict[str, str]:
    return {
        logical_id: layer["Properties"]["Description"]
        for logical_id, layer in resources(template, "AWS::Lambda::LayerVersion").items()
    }


@pytest.mark.parametrize("definition", FUNCTIONS, ids=_ids)
def test_each_function_gets_only_its_own_layers_and_the_domain_layer(
    template: dict[str, Any], definition: FunctionDefinition
) -> None:
    """The layers of its definition (README "Packaging"): the notifier alone has the PDF stack, the matcher alone
    rapidfuzz, the dispatcher alone httpx, and so on."""
    descriptions = _layer_descriptions(template)
    attached = [descriptions[target_id(layer) or ""] for layer in _function(template, definition)["Layers"]]

    assert attached == [*(layer.description for layer in definition.layers), DOMAIN_LAYER_DESCRIPTION]


def test_the_stack_makes_one_layer_version_of_each_layer(template: dict[str, Any]) -> None:
    descriptions = sorted(_layer_descriptions(template).values())

    assert descriptions == sorted([*(layer.description for layer in LAYERS), DOMAIN_LAYER_DESCRIPTION])
    for layer in resources(template, "AWS::Lambda::LayerVersion").values():
        assert layer["Properties"]["CompatibleArchitectures"] == [ARCHITECTURE.name]
        assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME.name]
