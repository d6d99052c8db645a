"""cfn-lint on both synthesised templates, with the repository's .cfnlintrc.yaml (each ignored check says why)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.build import ROOT
from tests.infrastructure.conftest import Synthesis

pytestmark = pytest.mark.infrastructure

CFN_LINT = Path(sys.executable).with_name("cfn-lint")
CONFIG = ROOT / ".cfnlintrc.yaml"


def test_cfn_lint_finds_nothing_in_either_template(synthesis: Synthesis, domain_synthesis: Synthesis) -> None:
    # One process for both templates: cfn-lint's start-up (loading every resource schema) is most of its time.
    result = subprocess.run(  # noqa: S603 - the venv's cfn-lint on templates this session wrote
        [
            str(CFN_LINT),
            "--config-file",
            str(CONFIG),
            "--format",
            "parseable",
            str(synthesis.template_path),
            str(domain_synthesis.template_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    assert result.stdout.splitlines() == [], result.stderr
    assert result.returncode == 0, result.stderr
