"""JSON from outside (request bodies, cursors), read so that no text can crash the reader or mean two things.

``json.loads`` alone recurses once per nesting level (50,000 ``[`` raise ``RecursionError``), raises on an integer
of more than 4,300 digits, reads ``1e999999`` as infinity and ``NaN`` as a number, keeps the last of two equal
keys and returns lone surrogates (``"\\ud800"``) that no UTF-8 encoder can write back. Here each of those is an
``UnacceptableJson`` saying why, and the nesting is measured without recursion before anything is parsed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

# The request models nest about five deep (a certificate's items' fields); cursors two.
MAX_DEPTH = 32
# Characters of one number: any quantity, weight or count the API takes has far fewer.
MAX_NUMBER_LENGTH = 100

# A complete JSON string (escapes included), so brackets inside strings are not counted as nesting.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# The escape of a UTF-16 surrogate: paired, json.loads joins two into one character; alone, it stays a surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class UnacceptableJson(ValueError):
    """The text is not JSON this system reads; ``reason`` says why, for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refuse(reason: str) -> NoReturn:
    raise UnacceptableJson(reason)


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        _refuse(f"a number of {len(text)} characters (at most {MAX_NUMBER_LENGTH})")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        _refuse(f"a number of {len(text)} characters (at most {MAX_NUMBER_LENGTH})")
    value = float(text)
    if not math.isfinite(value):
        _refuse(f"the number {text} is too large")
    return value


def _constant(text: str) -> NoReturn:
    _refuse(f"{text} is not a JSON value")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two values for one key are ambiguous: one reader takes the first, another the last (DESIGN.md §5).
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            _refuse(f"the key {json.dumps(name)} appears twice in one object")
        seen.add(name)
    return dict(pairs)


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, counted in a loop (never by recursion)."""
    deepest = depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> object:
    """The value ``raw`` holds, or ``UnacceptableJson``: not UTF-8, nested deeper than ``max_depth``, not JSON,
    a key twice in one object, a number too long or too large, or a lone surrogate in a string."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        text.encode("utf-8")
    except UnicodeError:
        _refuse("not UTF-8 text")
    if (depth := nesting_depth(text)) > max_depth:
        _refuse(f"arrays and objects nest {depth} deep (at most {max_depth})")
    try:
        value = json.loads(
            text, object_pairs_hook=_object, parse_int=_integer, parse_float=_real, parse_constant=_constant
        )
    except json.JSONDecodeError as error:
        _refuse(f"not valid JSON: {error.msg} at character {error.pos}")
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeError:
            _refuse("a string holds a lone UTF-16 surrogate, which is no character")
    return value
