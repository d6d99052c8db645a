"""Regenerate ``WenQuanYiMicroHei-subset.ttf`` from the upstream font (README.md beside this file says why
this font and what the subset holds).

    apt-get download fonts-wqy-microhei && dpkg-deb -x fonts-wqy-microhei_*.deb upstream
    python layers/jevs/python/jevs/documents/fonts/subset.py upstream/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

fontTools does the subsetting. It is no dependency of JEVS (the runtime only reads the finished file), so this
script installs it into a temporary virtual environment of its own and runs its ``pyftsubset``: the script
itself needs nothing but the standard library, which also lets it ride in the Lambda layer with the font.
The same upstream file and fontTools version give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterable
from pathlib import Path

# Debian's fonts-wqy-microhei 0.2.0-beta-3.1: wqy-microhei.ttc, WenQuanYi Micro Hei 0.2.0-beta (face 0) and
# its monospaced face (face 1). Another upstream file may cover other characters: check the README's numbers.
UPSTREAM_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"
UPSTREAM_FACE = 0
FONTTOOLS = "fonttools==4.68.0"
OUTPUT = Path(__file__).with_name("WenQuanYiMicroHei-subset.ttf")

# Whole Unicode blocks a certificate's text may need beyond Helvetica's Windows-1252: Latin letters with
# diacritics (Māori macrons, pinyin tone marks, European names), combining marks, Greek, Cyrillic, general
# punctuation, currency and letterlike symbols (℃, №), number forms (Ⅻ), arrows, enclosed numbers (①),
# box drawing, geometric shapes, CJK punctuation, kana, enclosed CJK (㈠), CJK units (㎏, ㎡), CJK
# compatibility forms and the full-width and half-width forms. Code points the upstream font lacks are
# skipped by the subsetter.
BLOCKS: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),
    (0x00A0, 0x024F),
    (0x0300, 0x036F),
    (0x0370, 0x03FF),
    (0x0400, 0x045F),
    (0x1E00, 0x1EFF),
    (0x2000, 0x206F),
    (0x20A0, 0x20BF),
    (0x2100, 0x218F),
    (0x2190, 0x21FF),
    (0x2460, 0x24FF),
    (0x2500, 0x25FF),
    (0x3000, 0x30FF),
    (0x3200, 0x33FF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
)


def double_byte_characters(codec: str, leads: Iterable[int], trails: Iterable[int]) -> set[str]:
    """Every character a double-byte character set encodes with these lead and trail bytes."""
    found = set()
    trail_bytes = list(trails)
    for lead in leads:
        for trail in trail_bytes:
            try:
                character = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(character) == 1:
                found.add(character)
    return found


def gb2312() -> set[str]:
    """GB 2312 whole (7,445 characters): the 6,763 Simplified hanzi of mainland Chinese names and
    addresses, with its punctuation, full-width Latin, kana, Greek, Cyrillic and pinyin letters."""
    return double_byte_characters("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))


def big5_common() -> set[str]:
    """Big5's symbols and its 5,401 frequently used hanzi (rows A1-A3, A4-C6): the Traditional characters
    of everyday Hong Kong and Taiwan names, about a quarter of the file's size; the 7,652 less frequent
    ones would double it."""
    trails = [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
    return double_byte_characters("big5", [*range(0xA1, 0xA4), *range(0xA4, 0xC7)], trails)


def characters() -> set[str]:
    """What the subset asks the upstream font for."""
    blocks = {chr(code) for first, last in BLOCKS for code in range(first, last + 1)}
    return blocks | gb2312() | big5_common()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the CJK font subset JEVS embeds in certificate PDFs.")
    parser.add_argument("upstream", type=Path, help="wqy-microhei.ttc from Debian's fonts-wqy-microhei")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    options = parser.parse_args(arguments)
    upstream: Path = options.upstream
    if (found := _sha256(upstream)) != UPSTREAM_SHA256:
        print(f"{upstream} is not the upstream file this subset is made from (sha256 {found})", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="jevs-font-") as scratch:
        environment = Path(scratch) / "venv"
        venv.create(environment, with_pip=True)
        python = environment / "bin" / "python"
        install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", FONTTOOLS]
        subprocess.run(install, check=True)  # noqa: S603 - a fixed command in our own fresh venv
        unicodes = Path(scratch) / "unicodes.txt"
        unicodes.write_text("".join(f"U+{ord(c):04X}\n" for c in sorted(characters())), encoding="ascii")
        subset = [
            str(environment / "bin" / "pyftsubset"),
            str(upstream),
            f"--font-number={UPSTREAM_FACE}",
            f"--unicodes-file={unicodes}",
            # reportlab draws glyphs, no more: it neither hints nor shapes, and writes horizontally.
            "--no-hinting",
            "--layout-features=",
            "--drop-tables+=GDEF,GPOS,GSUB,vhea,vmtx,FFTM,gasp",
            f"--output-file={options.output}",
        ]
        subprocess.run(subset, check=True)  # noqa: S603 - a fixed command in our own fresh venv
    size = options.output.stat().st_size
    print(f"{options.output}: {size:,} bytes, sha256 {_sha256(options.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
