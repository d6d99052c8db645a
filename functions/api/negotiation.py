"""Content negotiation on ``Accept`` (RFC 9110 §12.5.1), for the routes that answer a person's browser and an API
client alike."""

from __future__ import annotations

from collections.abc import Sequence

from jevs.resources import delivers_binary, first_accepted_media_type


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """The media ranges of an Accept header, each as (type, subtype, q); malformed ones are left out."""
    ranges = []
    for element in accept.split(","):
        media_range, *parameters = (part.strip() for part in element.split(";"))
        kind, slash, subtype = media_range.lower().partition("/")
        if not slash or not kind or not subtype:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((kind, subtype, quality))
    return ranges


def _quality(media_type: str, ranges: Sequence[tuple[str, str, float]]) -> float:
    """The q the client gives ``media_type``: that of the most specific range matching it (an exact type before
    ``type/*`` before ``*/*``), 0 when none does."""
    kind, _, subtype = media_type.lower().partition("/")
    best_specificity, quality = -1, 0.0
    for range_kind, range_subtype, range_quality in ranges:
        if (range_kind, range_subtype) == (kind, subtype):
            specificity = 2
        elif (range_kind, range_subtype) == (kind, "*"):
            specificity = 1
        elif (range_kind, range_subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, quality = specificity, range_quality
    return quality


def preferred_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """Which of ``offered`` to answer: the one the client's Accept header ranks highest, the first offered on a tie,
    with no Accept header, or when it accepts none of them (an answer it did not ask for beats a 406 here)."""
    if not accept or not accept.strip():
        return offered[0]
    ranges = _ranges(accept)
    best, best_quality = offered[0], _quality(offered[0], ranges)
    for media_type in offered[1:]:
        quality = _quality(media_type, ranges)
        if quality > best_quality:
            best, best_quality = media_type, quality
    return best


def asks_first_for(accept: str | None, media_type: str) -> bool:
    """Whether a binary answer in ``media_type`` reaches this client as its bytes: API Gateway sends bytes only when
    the first media type of Accept is a binary media type (``jevs.resources.delivers_binary``), and base64 text
    otherwise, so the binary routes answer only a request whose first Accept media type is theirs."""
    return first_accepted_media_type(accept) == media_type.lower() and delivers_binary(accept)
