"""checkov, a second scanner independent of cdk-nag, on the synthesised template: no failed check that is not
skipped, every skip on its resource with its reason, and every skip still needed.

checkov runs from its own venv (``make checkov``, which ``make test`` and ``make test-infrastructure`` build first
from requirements-checkov.lock): it pins packaging<24, which the dev set cannot share. Skips are
``Metadata.checkov.skip`` entries that infrastructure/cdk/acknowledgements.py puts on each resource.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infrastructure.build import ROOT
from tests.infrastructure.conftest import Synthesis

pytestmark = pytest.mark.infrastructure

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
_VARIANTS = ["synthesis", "domain_synthesis"]


@dataclass(frozen=True)
class Scan:
    passed: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    skipped: list[dict[str, Any]]

    def summary(self) -> str:
        return f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"


def _checkov(template: Path) -> Scan:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make checkov` builds it (make test does, first)"
    # --skip-download: checkov would otherwise fetch its guideline mappings from Prisma Cloud; the scan needs none.
    completed = subprocess.run(  # noqa: S603  # our own venv's checkov on our own template
        [
            *(str(CHECKOV), "-f", str(template), "--framework", "cloudformation"),
            *("-o", "json", "--compact", "--skip-download"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit status 1 means "failed checks", which the tests report; anything else is checkov failing to run.
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    assert report["check_type"] == "cloudformation", report
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    results = report["results"]
    return Scan(
        passed=results.get("passed_checks", []),
        failed=results.get("failed_checks", []),
        skipped=results.get("skipped_checks", []),
    )


def _without_skips(synthesis: Synthesis, folder: Path) -> Path:
    """The template as checkov would see it if the stack skipped nothing."""
    template = json.loads(json.dumps(synthesis.json))
    for resource in template["Resources"].values():
        resource.get("Metadata", {}).pop("checkov", None)
    path = folder / "Jevs.unskipped.template.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scans(request: pytest.FixtureRequest) -> dict[str, Scan]:
    return {variant: _checkov(request.getfixturevalue(variant).template_path) for variant in _VARIANTS}


def _findings(checks: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(check["check_id"], check["resource"]) for check in checks}


@pytest.mark.parametrize("variant", _VARIANTS)
def test_checkov_finds_no_failed_check_that_is_not_skipped(variant: str, scans: dict[str, Scan]) -> None:
    scan = scans[variant]
    print(f"{variant}: checkov: {scan.summary()}")

    assert scan.passed, "checkov checked the template"
    assert not scan.failed, "\n".join(
        [
            *(f"{check['check_id']} at {check['resource']}: {check['check_name']}" for check in scan.failed),
            "Fix each, or skip it on its resource in infrastructure/cdk/acknowledgements.py with its reason.",
        ]
    )


def test_every_checkov_skip_says_why(scans: dict[str, Scan]) -> None:
    for check in scans["synthesis"].skipped:
        comment = check["check_result"].get("suppress_comment", "")
        assert len(comment.split()) >= 15, f"{check['check_id']} at {check['resource']}: say why, specifically"


def test_every_checkov_skip_is_still_needed(
    synthesis: Synthesis, scans: dict[str, Scan], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Without its skips the template fails exactly the checks the stack skips: none excuses a check that passes
    (fixed, or the resource gone), and none is missing."""
    unskipped = _checkov(_without_skips(synthesis, tmp_path_factory.mktemp("checkov")))

    assert _findings(unskipped.failed) == _findings(scans["synthesis"].skipped)
