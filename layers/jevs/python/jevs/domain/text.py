"""What text JEVS accepts from outside: the one definition, for every string of every model a party sends.

Text goes on to China's systems, PDFs, emails, logs and screens. A control character (Unicode category Cc: NUL,
CR, ESC, ...) can cut a record, forge a log line or drive a terminal; a format character (Cf: the bidi overrides
such as U+202E, zero-width characters such as U+200B) makes text read differently from what it holds, so two
names that look alike differ; an unpaired surrogate (Cs) is not text at all and fails to encode on the way out;
line and paragraph separators (Zl, Zp) break lines where no line feed is seen. None of them is refused by a
length or a pattern, so each field would have to remember; instead every model that comes in from outside
extends ``Inbound``, which checks every string in it, however it is typed: a field added tomorrow is checked too.

Text is one line by default. A field whose text legitimately has lines (an address, a description of goods,
remarks, a verification answer) is typed ``MultiLine`` and may hold line feeds, and only those: a carriage
return or a tab is as much a control character there as anywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator

# Categories refused in any text: control, format, surrogate, line separator, paragraph separator.
_REFUSED = {
    "Cc": "control characters",
    "Cf": "format characters (bidi controls, zero-width characters)",
    "Cs": "unpaired surrogates",
    "Zl": "line separators",
    "Zp": "paragraph separators",
}


class _Lines:
    """The marker a ``MultiLine`` type carries, so ``Inbound`` knows its field may hold line feeds."""


LINES = _Lines()


def text_problem(value: str, *, lines: bool = False) -> str | None:
    """What makes ``value`` unacceptable text (the first character at fault, by code point), or None."""
    for position, character in enumerate(value):
        if character == "\n":
            if lines:
                continue
            return f"must be one line: a line feed at position {position}"
        category = unicodedata.category(character)
        if category in _REFUSED:
            return f"{_REFUSED[category]} are not allowed: U+{ord(character):04X} at position {position}"
    return None


def single_line(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def multi_line(value: str) -> str:
    problem = text_problem(value, lines=True)
    if problem is not None:
        raise ValueError(problem)
    return value


# Constrain the length where the type is used: Annotated[SingleLine, StringConstraints(max_length=...)].
SingleLine = Annotated[str, AfterValidator(single_line)]
MultiLine = Annotated[str, AfterValidator(multi_line), LINES]


def _marked_multi_line(annotation: Any) -> bool:
    """Whether ``LINES`` is in the annotation, at any depth (``list[MultiLine] | None`` counts)."""
    if annotation is LINES:
        return True
    return any(_marked_multi_line(argument) for argument in get_args(annotation))


@cache
def _allows_lines(model: type[BaseModel], field: str) -> bool:
    info = model.model_fields[field]
    return _marked_multi_line(info.annotation) or any(_marked_multi_line(meta) for meta in info.metadata)


def _strings(value: Any) -> Iterator[str]:
    """Every string in a field's value; a nested model checks its own (a model from outside is ``Inbound``)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)


class Inbound(BaseModel):
    """Base of every model that comes in from outside: every string of every field is acceptable text, one line
    unless the field is typed ``MultiLine``."""

    model_config = ConfigDict(defer_build=True)

    @field_validator("*", mode="after")
    @classmethod
    def _acceptable_text(cls, value: Any, info: ValidationInfo) -> Any:
        assert info.field_name is not None  # a field validator always has its field
        lines = _allows_lines(cls, info.field_name)
        for text in _strings(value):
            problem = text_problem(text, lines=lines)
            if problem is not None:
                raise ValueError(problem)
        return value
