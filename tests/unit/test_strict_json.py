"""The strict JSON reader (jevs.domain.strict_json): every ordinary document reads as json.loads reads it; what
could crash a reader or mean two things is refused with its reason, without recursion."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevs.domain.strict_json import MAX_DEPTH, UnacceptableJson, loads, nesting_depth

pytestmark = pytest.mark.unit

# JSON without duplicate keys (a dict has none) or non-finite numbers, nested at most a few levels.
ORDINARY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, max_examples=300)
@given(ORDINARY)
def test_an_ordinary_document_reads_as_json_loads_reads_it(value: object) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert nesting_depth('{"a": ["[[[{{{", "\\"]]]"]}') == 2


def test_nesting_up_to_the_bound_reads_and_one_more_is_refused() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(UnacceptableJson, match=f"nest {MAX_DEPTH + 1} deep"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_a_surrogate_pair_written_as_escapes_is_one_character() -> None:
    assert loads('"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "NaN is not a JSON value"),
        ("[Infinity]", "Infinity is not a JSON value"),
        ('{"a": 1', "not valid JSON: Expecting ',' delimiter at character 7"),
        ('{"a": {"b": 1, "b": 1}}', 'the key "b" appears twice in one object'),
        ("-1e400", "the number -1e400 is too large"),
    ],
)
def test_what_json_loads_would_take_or_take_differently_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(UnacceptableJson) as refused:
        loads(text)
    assert refused.value.reason == reason
