"""SnapStart (issue 16, build 3): the API and the dispatcher, and only they, are published as versions restored from
a snapshot, each with its ``live`` alias, and what invokes them invokes the alias: API Gateway's integration (and
its permission to invoke), the delivery queue's event source mapping. $LATEST is never restored from a snapshot,
so a trigger left on the function itself would never meet SnapStart."""

from __future__ import annotations

from typing import Any

import pytest

from jevs.resources import API_FUNCTION, DELIVERY_QUEUE, DISPATCHER_FUNCTION, FUNCTIONS, LIVE_ALIAS
from tests.infrastructure.support import (
    function_by_handler,
    one,
    properties,
    queue_by_name,
    references,
    resources,
    target,
    target_id,
)

pytestmark = pytest.mark.infrastructure

SNAP_STARTED = (API_FUNCTION, DISPATCHER_FUNCTION)


def _alias_of(template: dict[str, Any], function: str) -> str:
    logical_id, _ = one(
        {
            logical_id: alias
            for logical_id, alias in resources(template, "AWS::Lambda::Alias").items()
            if target_id(alias["Properties"]["FunctionName"]) == function
        },
        f"alias of {function}",
    )
    return logical_id


def test_snap_start_is_on_the_api_and_the_dispatcher_only(template: dict[str, Any]) -> None:
    snap_started = {
        properties(template, logical_id)["Handler"]
        for logical_id in resources(template, "AWS::Lambda::Function")
        if properties(template, logical_id).get("SnapStart") == {"ApplyOn": "PublishedVersions"}
    }

    assert snap_started == {definition.handler for definition in SNAP_STARTED}
    assert {definition.handler for definition in FUNCTIONS if definition.snap_start} == snap_started


@pytest.mark.parametrize("definition", SNAP_STARTED, ids=lambda definition: definition.folder)
def test_each_has_a_live_alias_on_a_published_version_of_itself(template: dict[str, Any], definition: Any) -> None:
    function = function_by_handler(template, definition.handler)

    alias = properties(template, _alias_of(template, function))

    assert alias["Name"] == LIVE_ALIAS
    version = target(alias["FunctionVersion"])
    assert version is not None
    assert version[1] == "Version"
    assert template["Resources"][version[0]]["Type"] == "AWS::Lambda::Version"
    assert target_id(properties(template, version[0])["FunctionName"]) == function


def test_only_the_snap_started_functions_have_aliases(template: dict[str, Any]) -> None:
    aliased = {
        target_id(alias["Properties"]["FunctionName"]) for alias in resources(template, "AWS::Lambda::Alias").values()
    }

    assert aliased == {function_by_handler(template, definition.handler) for definition in SNAP_STARTED}


def test_api_gateway_invokes_the_api_functions_alias(template: dict[str, Any]) -> None:
    function = function_by_handler(template, API_FUNCTION.handler)
    alias = _alias_of(template, function)
    methods = [
        method["Properties"]["Integration"]
        for method in resources(template, "AWS::ApiGateway::Method").values()
        if method["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
    ]
    named = [{logical_id for logical_id, _ in references(integration["Uri"])} for integration in methods]
    permitted = [
        target_id(permission["Properties"]["FunctionName"])
        for permission in resources(template, "AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]

    assert methods, "the proxy integrations"
    assert all(alias in uri and function not in uri for uri in named)
    assert permitted
    assert set(permitted) == {alias}


def test_the_delivery_queue_invokes_the_dispatchers_alias(template: dict[str, Any]) -> None:
    dispatcher = function_by_handler(template, DISPATCHER_FUNCTION.handler)
    queue = queue_by_name(template, DELIVERY_QUEUE.name)

    [mapping] = [
        mapping["Properties"]
        for mapping in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if target_id(mapping["Properties"]["EventSourceArn"]) == queue
    ]

    # CDK names the alias as "<function name>:live", cut from the alias's ARN.
    assert {logical_id for logical_id, _ in references(mapping["FunctionName"])} == {_alias_of(template, dispatcher)}
    assert mapping["FunctionName"]["Fn::Join"][1][-1] == f":{LIVE_ALIAS}"
