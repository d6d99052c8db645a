"""Every alarm of the stack has its section in docs/runbook.md, headed by the alarm's name, and every alarm section
there names an alarm the stack makes; each alarm is named ``jevs-…`` and its description sends the operator to its
section."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infrastructure.build import ROOT
from infrastructure.cdk.monitoring import ALARM_PREFIX, MAX_DESCRIPTION, RUNBOOK
from tests.infrastructure.support import resources

pytestmark = pytest.mark.infrastructure

# An alarm's section is a level-3 heading under "## Alarms"; the runbook's other sections are level 2.
ALARM_SECTION = re.compile(r"^### (?P<name>\S+)\s*$", re.MULTILINE)


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each alarm's properties by its name."""
    found = [alarm["Properties"] for alarm in resources(template, "AWS::CloudWatch::Alarm").values()]
    named = {properties["AlarmName"]: properties for properties in found}
    assert len(named) == len(found), "two alarms share a name"
    return named


def _sections() -> list[str]:
    return [match["name"] for match in ALARM_SECTION.finditer((ROOT / RUNBOOK).read_text(encoding="utf-8"))]


def test_every_alarm_has_a_runbook_section_and_every_section_an_alarm(template: dict[str, Any]) -> None:
    alarms, sections = set(_alarms(template)), _sections()

    assert len(sections) == len(set(sections)), "a section appears twice"
    assert sorted(alarms - set(sections)) == [], "alarms without a runbook section"
    assert sorted(set(sections) - alarms) == [], "runbook sections without an alarm"


def test_every_alarm_is_named_jevs_in_kebab_case(template: dict[str, Any]) -> None:
    for name in _alarms(template):
        assert name.startswith(ALARM_PREFIX), name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name


def test_every_description_names_its_runbook_section_and_fits_cloudwatch(template: dict[str, Any]) -> None:
    for name, alarm in _alarms(template).items():
        description = alarm["AlarmDescription"]
        # A plain string: an operator reads it in the alarm's email as it is.
        assert isinstance(description, str), name
        assert description.endswith(f"Runbook: {RUNBOOK}#{name}"), name
        assert len(description) <= MAX_DESCRIPTION, name
