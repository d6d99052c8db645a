"""What the tests expect of a problem's ``type`` and ``instance`` (jevs.resources.PROBLEM_TYPES)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jevs.resources import PROBLEM_TYPES

# The local stack's documentation site: the gateway's URL (any port; integration tests use their own base URL) and
# /site, where the gateway serves the built site.
_LOCAL_TYPE = re.compile(r"(?:http://127\.0\.0\.1:\d+|https://jevs\.example\.test/live)/site/problems/([a-z-]+)/")


class ProblemType:
    """Equal to the ``type`` a local stack gives problem ``slug``: its page of the stack's documentation site."""

    __hash__ = None  # type: ignore[assignment]  # compared, never kept in a set

    def __init__(self, slug: str) -> None:
        assert slug in PROBLEM_TYPES, f"{slug} is not in PROBLEM_TYPES"
        self.slug = slug

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        found = _LOCAL_TYPE.fullmatch(other)
        return found is not None and found.group(1) == self.slug

    def __repr__(self) -> str:
        return f"<docs URL>/problems/{self.slug}/"


def problem_type(slug: str) -> ProblemType:
    return ProblemType(slug)


def slug_of(problem_type_uri: str) -> str:
    """The slug of a local stack's problem type, or an AssertionError when it is not one."""
    found = _LOCAL_TYPE.fullmatch(problem_type_uri)
    assert found is not None, f"{problem_type_uri!r} is not a page of the local documentation site"
    return found.group(1)


def request_instance(response: Mapping[str, Any]) -> str:
    """The ``instance`` of a problem the API answered ``response`` (of the integration tests' ``call_api``) with."""
    return f"urn:jevs:request:{response['request_id']}"
