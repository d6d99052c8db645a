"""Every problem type the code answers has its page in the documentation site (docs/problems/<slug>.md), and
every page there is a type the code answers: a problem's ``type`` opens the page that explains it.

The types are collected from the code as it names them: ``problem(<status>, "<slug>"`` in the API function,
``Conflict("<slug>"`` in the domain and the use cases (the API answers each as a 409), the local gateway's
table of its own problems, the CDK stack's gateway responses and every literal ``urn:jevs:problem:<slug>``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "docs" / "problems"
# Where the code that answers problems lives (the tests name types too, but only those the code answers).
SOURCES = ("functions", "layers/jevs/python/jevs", "infrastructure")
SLUG = r"([a-z]+(?:-[a-z]+)*)"
NAMED = (
    re.compile(rf'\bproblem\(\s*\d{{3}},\s*"{SLUG}"'),  # functions/api/problems.py
    re.compile(rf'\bConflict\(\s*"{SLUG}"'),  # domain and service conflicts, each a 409
    re.compile(rf'^\s*\d{{3}}: \("{SLUG}", "', re.MULTILINE),  # the local gateway's _PROBLEMS
    re.compile(rf'\("\d{{3}}", "{SLUG}", "'),  # the CDK stack's gateway responses
    re.compile(rf"urn:jevs:problem:{SLUG}"),
)


def _types_in_code() -> set[str]:
    found: set[str] = set()
    for source in SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in NAMED:
                found.update(pattern.findall(text))
    return found


def _pages() -> set[str]:
    return {page.stem for page in PAGES.glob("*.md")} - {"index"}


def test_the_code_answers_the_types_this_test_knows_to_look_for() -> None:
    # Guards the collection itself: a change of how the code names its types must not leave this test comparing
    # an empty set (or half of one) with the pages.
    assert {"validation-error", "not-found", "method-not-allowed", "throttled", "certificate-number-exists"} <= (
        _types_in_code()
    )


def test_every_problem_type_in_the_code_has_its_page_and_every_page_a_type() -> None:
    in_code, pages = _types_in_code(), _pages()
    assert not in_code - pages, f"problem types without a page in docs/problems/: {sorted(in_code - pages)}"
    assert not pages - in_code, f"pages of problem types the code no longer answers: {sorted(pages - in_code)}"


@pytest.mark.parametrize("slug", sorted(_pages()))
def test_each_problem_page_says_what_it_means_when_it_is_sent_what_to_do_and_shows_a_body(slug: str) -> None:
    text = (PAGES / f"{slug}.md").read_text(encoding="utf-8")
    for heading in ("## What it means", "## When JEVS sends it", "## What the client should do", "## Example"):
        assert heading in text, f"{slug}.md has no {heading!r}"
    assert f'"type": "http://127.0.0.1:8080/site/problems/{slug}/"' in text
