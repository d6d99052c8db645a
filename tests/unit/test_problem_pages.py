"""Every problem type the code answers has its page in the documentation site (docs/problems/<slug>.md), and
every page there is a type the code answers: a problem's ``type`` opens the page that explains it.

The types are the code's one list, ``jevs.resources.PROBLEM_TYPES``, from which the API function, the local
gateway and the CDK stack's gateway responses all make their problems (tests/unit/test_problem_types.py holds
every slug the code names to that list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jevs.resources import PROBLEM_TYPES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "docs" / "problems"


def _types_in_code() -> set[str]:
    return set(PROBLEM_TYPES)


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
    assert f'"title": "{PROBLEM_TYPES[slug]}"' in text  # the title every occurrence of the type has
