"""The documentation site (``make docs``) builds with ``mkdocs build --strict``, offline, and that build fails on
what a reader would trip over: a link to a page or an anchor that does not exist, a page left out of the nav."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from infrastructure.build import ROOT
from infrastructure.docs_site import OPENAPI, PROBLEMS

pytestmark = pytest.mark.infrastructure


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this venv's mkdocs on the site's own configuration
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )


def _copy_of_the_site(tmp_path: Path) -> tuple[Path, Path]:
    """mkdocs.yml and docs/ copied under ``tmp_path`` (the hook still read from the clone), to break on purpose."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    config = (ROOT / "mkdocs.yml").read_text()
    for line, absolute in (
        ("docs_dir: docs", f"docs_dir: {docs}"),
        ("  - infrastructure/", f"  - {ROOT}/infrastructure/"),
    ):
        assert line in config
        config = config.replace(line, absolute)
    path = tmp_path / "mkdocs.yml"
    path.write_text(config)
    return path, docs


def test_the_site_builds_strict_with_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = _build(ROOT / "mkdocs.yml", site)
    assert build.returncode == 0, build.stderr
    assert "WARNING" not in build.stderr
    for page in ("index", "partners/guide", "reference/api", "runbook", "design", "architecture", "security"):
        assert (site / page.removesuffix("index") / "index.html").exists(), page
    for problem in PROBLEMS.glob("*.md"):
        assert (site / "problems" / problem.stem / "index.html").exists(), problem.stem
    # The API reference has a section for every operation of the committed document.
    reference = (site / "reference" / "api" / "index.html").read_text()
    operations = [
        operation["operationId"]
        for item in json.loads(OPENAPI.read_text())["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert operations
    assert all(f"<code>{operation_id}</code>" in reference for operation_id in operations)
    # Offline: no page loads a script, a style sheet or a font from elsewhere.
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert 'src="http' not in text, html
        assert "fonts.googleapis" not in text, html
        assert 'rel="stylesheet" href="http' not in text, html


@pytest.mark.parametrize(
    ("break_it", "warning"),
    [
        (lambda docs: (docs / "index.md").write_text("# JEVS\n\n[gone](no-such-page.md)\n"), "no-such-page.md"),
        (lambda docs: (docs / "index.md").write_text("# JEVS\n\n[gone](design.md#99-none)\n"), "#99-none"),
        (lambda docs: (docs / "stray.md").write_text("# Stray\n"), "stray.md"),
    ],
    ids=["broken link", "broken anchor", "page not in the nav"],
)
def test_the_strict_build_fails_on_what_a_reader_would_trip_over(
    tmp_path: Path, break_it: Callable[[Path], object], warning: str
) -> None:
    config, docs = _copy_of_the_site(tmp_path)
    break_it(docs)
    build = _build(config, tmp_path / "site")
    assert build.returncode != 0
    assert warning in build.stderr
