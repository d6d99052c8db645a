"""The partner guide's requests work as printed: every ``sh`` block of docs/partners/guide.md, in order and
unchanged but for the port, runs against the stack, from a folder holding what a clone has beside it."""

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
GUIDE = ROOT / "docs" / "partners" / "guide.md"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _json_lines(output: str) -> list[dict[str, object]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{"):
            document = json.loads(line)
            assert isinstance(document, dict)
            documents.append(document)
    return documents


@pytest.mark.skipif(shutil.which("curl") is None, reason="the guide's requests call curl, which this machine lacks")
def test_the_partner_guide_requests_run_as_printed(stack: LocalStack, tmp_path: Path) -> None:
    blocks = SH_BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the guide lost its requests"
    script = "\n".join(blocks).replace("http://127.0.0.1:8080", stack.api_url)
    # The guide is pasted from a clone's root: its example bodies and venv are there; what it saves lands here.
    for name in ("functions", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    bash = shutil.which("bash")
    assert bash is not None

    result = subprocess.run(  # noqa: S603 (our own guide's lines, run as a partner would)
        [bash, "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr
    output = result.stdout
    documents = _json_lines(output)
    certificates = [d for d in documents if d.get("certificate_number") == "11.1234.12345" and "view" in d]
    assert certificates, output
    assert re.search(r"^idempotent-replayed: true", output, re.IGNORECASE | re.MULTILINE), output
    refusal = next(d for d in documents if d.get("status") == 422)
    assert "validation-error" in str(refusal["type"])
    assert "items[0].hs_code" in json.dumps(refusal["errors"])
    assert any("items" in d and "next_cursor" not in d for d in documents), "the paging loop never ended on a page"
    assert any(d.get("status") == "MATCHED" and d.get("discrepancies") == [] for d in documents), output
    assert any(d.get("decision") == "NOT_GIVEN" for d in documents), output
    assert any("keys" in d for d in documents)
    assert re.search(r"^OK\b", output, re.MULTILINE), output
    verification = next(d for d in documents if "standing" in d)
    assert verification["certificate_number"] == "11.1234.12345"
