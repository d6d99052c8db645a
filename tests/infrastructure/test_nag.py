"""cdk-nag's AwsSolutions, NIST 800-53 R5 and Serverless packs, run by the synth as ``cdk synth`` runs them: nothing
unacknowledged in any pack, and every acknowledgement specific, attached to a construct of the stack, and still
needed."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Validations

from infrastructure.cdk.acknowledgements import PACKS
from tests.infrastructure.conftest import STACK, Synthesis

pytestmark = pytest.mark.infrastructure

_VARIANTS = ["synthesis", "domain_synthesis"]


def _plugin_report(synthesis: Synthesis, pack: str) -> dict[str, Any]:
    reports: list[dict[str, Any]] = [
        report for report in synthesis.validation_report.get("pluginReports", []) if report["pluginName"] == pack
    ]
    assert len(reports) == 1, f"cdk-nag's {pack} pack did not run: {synthesis.error or synthesis.validation_report}"
    return reports[0]


def _acknowledgements(synthesis: Synthesis) -> dict[tuple[str, str], str]:
    """(rule id, construct path) → reason, as the stack's constructs record them."""
    return {
        (rule, construct.node.path): reason
        for construct in synthesis.app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    }


def _rule_name(rule: str) -> str:
    """``NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ`` → ``LambdaDLQ``; ``AwsSolutions::AwsSolutions-IAM5[...]`` →
    ``IAM5``."""
    pack, _, name = rule.partition("::")
    return name.removeprefix(f"{pack}-").split("[")[0]


@pytest.mark.parametrize("pack", PACKS)
@pytest.mark.parametrize("variant", _VARIANTS)
def test_cdk_nag_finds_nothing_unacknowledged(variant: str, pack: str, request: pytest.FixtureRequest) -> None:
    synthesis: Synthesis = request.getfixturevalue(variant)
    report = _plugin_report(synthesis, pack)
    unacknowledged = [
        f"{violation['ruleName']} ({violation['severity']}) at {construct['constructPath']}: {violation['description']}"
        for violation in report["violations"]
        for construct in violation["violatingConstructs"]
    ]
    print(f"{variant}: cdk-nag {pack}: {len(report['suppressedViolations'])} acknowledged, {len(unacknowledged)} not")

    assert not unacknowledged, "\n".join(
        [*unacknowledged, "Fix each, or acknowledge it in infrastructure/cdk/acknowledgements.py with its reason."]
    )
    assert synthesis.error is None
    assert report["conclusion"] == "success"


@pytest.mark.parametrize("variant", _VARIANTS)
def test_every_acknowledgement_is_still_needed(variant: str, request: pytest.FixtureRequest) -> None:
    """An acknowledgement whose finding is gone (fixed, or the resource removed) is deleted, not left to excuse
    whatever appears there next."""
    synthesis: Synthesis = request.getfixturevalue(variant)
    used = {
        (suppressed["acknowledgedId"], suppressed["acknowledgedAt"])
        for pack in PACKS
        for suppressed in _plugin_report(synthesis, pack)["suppressedViolations"]
    }

    assert used, "the packs ran and found what the stack acknowledges"
    assert set(_acknowledgements(synthesis)) == used


def test_every_acknowledgement_names_its_rule_and_gives_a_reason_of_its_own(synthesis: Synthesis) -> None:
    acknowledgements = _acknowledgements(synthesis)

    for (rule, path), reason in acknowledgements.items():
        assert any(rule.startswith(f"{pack}::{pack}-") for pack in PACKS), rule
        assert len(reason.split()) >= 15, f"{rule} at {path}: say why, specifically"
    # A reason is about its finding: one text may cover one rule on several constructs (or the same rule of two
    # packs), not several rules, except for a public route, where "no authorization" (APIG4) and "no Cognito
    # authorizer" (COG4) are one finding.
    rules_by_reason: dict[str, set[str]] = {}
    for (rule, _), reason in acknowledgements.items():
        rules_by_reason.setdefault(reason, set()).add(_rule_name(rule))
    shared = [rules for rules in rules_by_reason.values() if len(rules) > 1]
    assert all(rules == {"APIG4", "COG4"} for rules in shared), shared


def test_acknowledgements_sit_on_the_constructs_they_concern_never_on_the_stack(synthesis: Synthesis) -> None:
    paths = {path for _, path in _acknowledgements(synthesis)}

    assert all(path.startswith(f"{STACK}/") for path in paths), paths
