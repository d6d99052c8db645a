"""Every reference to the design resolves in a clone: each ``DESIGN.md §n`` in the code, the tests and the
documents names a section DESIGN.md has (``## n. Title`` or ``### n.m Title``, each with an anchor on GitHub and
in the site); a citation written as a link points at that section's anchor; every ``§`` outside DESIGN.md cites
either the design or an RFC; and nothing points outside the repository, at ``../shared``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.docs_site import slugify

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "DESIGN.md"
# What git ignores or generates (the venvs, caches and build output; docs/openapi.json is written from the code),
# and this file, whose patterns would read as citations.
SKIPPED_DIRS = {".git", "build", "cdk.out", "node_modules", "test-artifacts", ".local-stack", "__pycache__"}
SKIPPED_FILES = {ROOT / "docs" / "openapi.json", Path(__file__).resolve()}
SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".json", ".txt", ".in", ".cfg", ".sh"}

SECTION_HEADING = re.compile(r"^#{2,3} (?P<heading>(?P<number>\d+(?:\.\d+)?)\.? .+)$", re.MULTILINE)
# A section (6.2), a range of sections (2–3), or the placeholder n of "DESIGN.md §n".
SECTION = r"§(?:\d+(?:\.\d+)?(?:[–-]\d+(?:\.\d+)?)?|n\b)"
# Between the parts of a citation: spaces and line breaks, a comment's '#', Markdown emphasis, quotes.
GAP = r"[\s#*\"'`]*"
CITATION = re.compile(
    rf"(?P<source>DESIGN\.md|DESIGN|RFC \d+){GAP}(?P<sections>{SECTION}(?:{GAP}(?:,|and|or){GAP}{SECTION})*)"
)
LINKED = re.compile(r"\[DESIGN\.md (?P<section>§\d+(?:\.\d+)?)\]\((?P<target>[^)#]*)#(?P<anchor>[^)]+)\)")


def _sections() -> dict[str, str]:
    """Each section of DESIGN.md by its number, with its anchor."""
    headings = SECTION_HEADING.finditer(DESIGN.read_text(encoding="utf-8"))
    return {match["number"]: slugify(match["heading"]) for match in headings}


def _cited(sections: str) -> list[str]:
    """The section numbers a citation's list names: ``§2–3`` names 2 and 3, ``§6.2-6.3`` names 6.2 and 6.3;
    ``§n`` names none."""
    numbers: list[str] = []
    for first, first_minor, last, last_minor in re.findall(r"§(\d+)(?:\.(\d+))?(?:[–-](\d+)(?:\.(\d+))?)?", sections):
        if not last:
            numbers.append(f"{first}.{first_minor}" if first_minor else first)
        elif first_minor and last_minor:
            assert first == last, f"a range across sections: {sections}"
            numbers += [f"{first}.{minor}" for minor in range(int(first_minor), int(last_minor) + 1)]
        else:
            numbers += [str(major) for major in range(int(first), int(last) + 1)]
    return numbers


def _files() -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRS and not d.startswith(".venv")]
        for name in names:
            path = Path(directory) / name
            if (path.suffix in SUFFIXES or name == "Makefile") and path not in SKIPPED_FILES:
                yield path


def _texts() -> Iterator[tuple[str, str]]:
    for path in _files():
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8", errors="replace")


def test_design_has_the_numbered_sections_the_code_cites() -> None:
    sections = _sections()
    assert {"1", "2", "3", "4", "5", "6", "6.1", "6.6", "7", "8"} <= sections.keys()
    assert sections["6.4"] == "64-history-no-one-can-quietly-rewrite"


def test_every_design_citation_names_a_section_the_design_has() -> None:
    sections = _sections()
    unresolved, count = [], 0
    for name, text in _texts():
        for citation in CITATION.finditer(text):
            if citation["source"].startswith("RFC"):
                continue
            for number in _cited(citation["sections"]):
                count += 1
                if number not in sections:
                    line = text.count("\n", 0, citation.start()) + 1
                    unresolved.append(f"{name}:{line}: §{number}")
    assert count > 100, f"only {count} citations found: the pattern no longer reads them"
    assert not unresolved, f"citations of sections DESIGN.md does not have: {unresolved}"


def test_every_section_sign_outside_the_design_is_part_of_a_citation() -> None:
    """A ``§4`` alone ("the rules of §4") names no document: it must say DESIGN.md (or which RFC)."""
    loose = []
    for name, text in _texts():
        if name == "DESIGN.md":
            continue
        covered = {index for citation in CITATION.finditer(text) for index in range(*citation.span())}
        loose += [
            f"{name}:{text.count(chr(10), 0, sign.start()) + 1}"
            for sign in re.finditer("§", text)
            if sign.start() not in covered
        ]
    assert not loose, f"a § that cites no document: {loose}"


def test_the_design_cites_only_its_own_sections() -> None:
    sections, text = _sections(), DESIGN.read_text(encoding="utf-8")
    cited = _cited(" ".join(re.findall(SECTION, text)))
    assert cited
    assert set(cited) <= sections.keys()


def test_a_design_citation_written_as_a_link_opens_that_section() -> None:
    sections, wrong, count = _sections(), [], 0
    for name, text in _texts():
        for link in LINKED.finditer(text):
            count += 1
            number = link["section"].removeprefix("§")
            if not link["target"].endswith(("design.md", "DESIGN.md")) or sections.get(number) != link["anchor"]:
                wrong.append(f"{name}: {link[0]}")
    assert count > 0
    assert not wrong, f"links to the wrong section: {wrong}"


def test_nothing_points_outside_the_repository() -> None:
    outside = "../" + "shared"  # spelled in two parts so that this file does not name it
    found = [name for name, text in _texts() if outside in text]
    assert not found, f"references to {outside}, which a clone does not have: {found}"
