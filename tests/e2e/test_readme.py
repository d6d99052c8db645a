"""The README's calls work as printed: its curl block runs, unchanged but for the port, against the stack."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infrastructure.local.stack import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parent.parent.parent
README_BLOCK = re.compile(r"<!-- readme-curl:start -->\s*```sh\n(.*?)```\s*<!-- readme-curl:end -->", re.DOTALL)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's lines call curl, which this machine lacks")
def test_the_readme_curl_lines_submit_read_and_verify_a_certificate_then_match_a_declaration(
    stack: LocalStack,
) -> None:
    block = README_BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert block is not None, "README.md lost its marked curl block"
    script = block.group(1).replace("http://127.0.0.1:8080", stack.api_url)

    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(  # noqa: S603 (our own README lines, run as a reader would)
        [bash, "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    submitted, read, history, lodged, decided = (
        json.loads(line) for line in result.stdout.splitlines() if line.strip()
    )
    assert submitted["certificate_number"] == read["certificate_number"] == "11.1234.12345"
    assert read["view"] == "FULL"
    assert history["chain"]["valid"] is True
    assert (lodged["declaration_id"], lodged["status"]) == ("CNIM-223320261000123456", "RECEIVED")
    assert (decided["status"], decided["discrepancies"]) == ("MATCHED", [])
