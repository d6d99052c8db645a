"""The one list of problem types (jevs.resources.PROBLEM_TYPES): every slug the code answers is in it, and a
problem's ``type`` is its page of the documentation site, its ``instance`` the request it answers."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from functions.api import problems
from jevs.domain.errors import NotFound
from jevs.resources import PROBLEM_TYPES, problem_instance, problem_type

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*(ROOT / "layers" / "jevs" / "python" / "jevs").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]


def _first_strings(function_name: str, position: int) -> set[str]:
    """The string literal at ``position`` of every call of ``function_name`` in the layer and the functions."""
    found = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) <= position:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            argument = node.args[position]
            if name == function_name and isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(argument.value)
    return found


def test_every_conflict_the_domain_raises_has_a_problem_type() -> None:
    conflicts = _first_strings("Conflict", 0)

    assert len(conflicts) >= 10  # the scan finds them
    assert conflicts - PROBLEM_TYPES.keys() == set()


def test_every_problem_the_api_function_answers_has_a_problem_type() -> None:
    answered = _first_strings("problem", 1)

    assert {"not-found", "payload-too-large", "validation-error"} <= answered
    assert answered - PROBLEM_TYPES.keys() == set()


def test_a_problem_type_is_its_page_of_the_documentation_site() -> None:
    assert (
        problem_type("https://docs.example.test/jevs/", "not-found")
        == "https://docs.example.test/jevs/problems/not-found/"
    )
    with pytest.raises(KeyError):
        problem_type("https://docs.example.test", "no-such-problem")


def test_a_problem_names_the_documentation_and_the_request_it_answers() -> None:
    with problems.answering("https://docs.example.test", "c0ffee00-1234"):
        answered = json.loads(problems.not_found(NotFound("certificate 11-0001")).body or "{}")

    assert answered == {
        "type": "https://docs.example.test/problems/not-found/",
        "title": "Not found",
        "status": 404,
        "detail": "No such resource: certificate 11-0001.",
        "instance": "urn:jevs:request:c0ffee00-1234",
    }
    assert problem_instance("c0ffee00-1234") == answered["instance"]


def test_outside_a_request_a_problem_has_no_instance_and_a_relative_type() -> None:
    answered = json.loads(problems.problem(503, "try-again", "Later.").body or "{}")

    assert (answered["type"], "instance" in answered) == ("/problems/try-again/", False)
