"""The CJK font the certificate PDF embeds (jevs/documents/fonts): it covers what certificates are written in,
and stays small enough for the domain layer."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped, unused-ignore]

from jevs.documents import certificate_pdf

pytestmark = pytest.mark.unit

FONTS = Path(certificate_pdf.__file__).with_name("fonts")
SUBSET = FONTS / "WenQuanYiMicroHei-subset.ttf"


@cache
def covered() -> frozenset[int]:
    return frozenset(TTFont("subset-under-test", str(SUBSET)).face.charToGlyph)


def double_byte(codec: str, leads: Iterable[int], trails: Iterable[int]) -> set[int]:
    """Every character a double-byte character set encodes with these lead and trail bytes."""
    found = set()
    trail_bytes = list(trails)
    for lead in leads:
        for trail in trail_bytes:
            try:
                character = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            found.add(ord(character))
    return found


def missing(characters: Iterable[int]) -> str:
    return "".join(chr(code) for code in sorted(set(characters) - covered()))


def test_the_subset_has_every_character_of_gb_2312() -> None:
    gb_2312 = double_byte("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    assert len(gb_2312) == 7445
    assert missing(gb_2312) == ""


def test_the_subset_has_the_common_traditional_characters_of_big5() -> None:
    # Big5's 5,401 frequently used hanzi (lead bytes A4 to C6).
    common_hanzi = double_byte("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    assert len(common_hanzi) >= 5401
    assert missing(common_hanzi) == ""


def test_the_subset_has_cjk_punctuation_and_the_full_width_forms() -> None:
    # CJK punctuation: the ideographic space, comma and full stop, ditto mark, the brackets and quotation
    # marks (U+3000 to U+301F, less the few rare ones the upstream font lacks, such as 〄 and 〘〙).
    assert missing([*range(0x3000, 0x3004), *range(0x3005, 0x3018), *range(0x301D, 0x3020)]) == ""
    # Full-width ASCII and the full-width signs (￠￡￢￣￤￥￦).
    assert missing(range(0xFF01, 0xFF5F)) == ""
    assert missing(range(0xFFE0, 0xFFE7)) == ""


def test_the_subset_has_the_letters_helvetica_lacks_that_names_here_use() -> None:
    maori_and_pinyin = "ĀĒĪŌŪāēīōūǎǐǒǔǖǘǚǜěň"
    assert missing(ord(c) for c in maori_and_pinyin) == ""
    assert missing(range(0x0100, 0x0180)) == ""  # Latin Extended-A: European names
    assert missing(range(0x0410, 0x0450)) == ""  # Cyrillic


def test_the_subset_is_small_and_carries_its_licence() -> None:
    # The domain layer's budget is 5 MiB, and the layer without the font about 1.2 MiB.
    assert SUBSET.stat().st_size < 2 * 1024 * 1024
    licence = (FONTS / "LICENSE-Apache-2.0.txt").read_text()
    assert "Apache License" in licence
    assert "Version 2.0" in licence
    assert "WenQuanYi Micro Hei" in (FONTS / "README.md").read_text()
