"""Regenerate the UN/LOCODE reference table JEVS carries (``jevs/reference/data/unlocode-nz-cn.tsv``) from UNECE's
release files of an edition: one command per new edition (``jevs/reference/data/README.md`` says where to get them).

    .venv/bin/python -m infrastructure.extract_unlocode /path/to/folder-with-the-csv-files

The folder holds UNECE's ``<edition> UNLOCODE CodeListPart1.csv`` (and Part2, Part3): twelve columns, no header
row, ISO 8859-1. JEVS keeps the locations of the FTA's two parties only, every one that has a code (see the
README for why not only those with a transport function).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "layers/jevs/python/jevs/reference/data/unlocode-nz-cn.tsv"
COUNTRIES = ("NZ", "CN")
PARTS = re.compile(r"^(?P<edition>[0-9]{4}-[0-9]+) UNLOCODE CodeListPart[0-9]+\.csv$")
# UNECE's columns, in the order of the files (the Function column comes before Status).
COLUMNS = (
    "change",
    "country",
    "location",
    "name",
    "name_without_diacritics",
    "subdivision",
    "function",
    "status",
    "date",
    "iata",
    "coordinates",
    "remarks",
)
# UN/LOCODE's own marker for an entry to be deleted in the next edition: it is no longer a location to name.
MARKED_FOR_DELETION = "X"
_CODE = re.compile(r"^[A-Z2-9]{3}$")
# A control character in a kept row means the files' encoding is not the one read: look before trusting them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Location:
    code: str
    name: str
    subdivision: str
    function: str
    status: str

    def line(self) -> str:
        return "\t".join((self.code, self.name, self.subdivision, self.function, self.status))


def edition_files(folder: Path) -> tuple[str, list[Path]]:
    """The edition the folder's code list files are of, and the files, in part order."""
    files = sorted(path for path in folder.iterdir() if PARTS.match(path.name))
    editions = {match.group("edition") for path in files if (match := PARTS.match(path.name))}
    if len(editions) != 1:
        raise SystemExit(f"expected the CodeListPart files of one edition in {folder}, found editions {editions}")
    return editions.pop(), files


def rows(files: Iterable[Path]) -> Iterator[dict[str, str]]:
    for path in files:
        with path.open(encoding="iso-8859-1", newline="") as text:
            for number, row in enumerate(csv.reader(text), start=1):
                if len(row) != len(COLUMNS):
                    raise SystemExit(f"{path.name}:{number}: {len(row)} columns, expected {len(COLUMNS)}")
                yield dict(zip(COLUMNS, (value.strip() for value in row), strict=True))


def locations(entries: Iterable[dict[str, str]], countries: Sequence[str] = COUNTRIES) -> list[Location]:
    """The locations of ``countries``: every entry with a code, less those marked for deletion.

    Left out too: each country's heading row (``.NEW ZEALAND``) and the reference entries (change ``=``, such as
    ``Peking = Beijing``), which have no code of their own.
    """
    kept: dict[str, Location] = {}
    for entry in entries:
        if entry["country"] not in countries or not entry["location"] or entry["change"] == MARKED_FOR_DELETION:
            continue
        code = entry["country"] + entry["location"]
        if not _CODE.fullmatch(entry["location"]):
            raise SystemExit(f"{code}: not a UN/LOCODE")
        location = Location(code, entry["name"], entry["subdivision"], entry["function"], entry["status"])
        if _CONTROL.search(location.line().replace("\t", "")):
            raise SystemExit(f"{code}: a control character in {location.line()!r}")
        if code in kept:
            raise SystemExit(f"{code}: listed twice")
        kept[code] = location
    return sorted(kept.values(), key=lambda location: location.code)


def table(edition: str, kept: Sequence[Location]) -> str:
    header = [
        f"# UN/LOCODE {edition} (UNECE): the locations of {' and '.join(COUNTRIES)}, every one with a code.",
        "# Source, terms and how to regenerate: README.md beside this file (infrastructure/extract_unlocode.py).",
        "# code\tname\tsubdivision\tfunction\tstatus",
    ]
    return "\n".join([*header, *(location.line() for location in kept)]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the folder holding UNECE's CodeListPart CSV files of one edition")
    parser.add_argument("--output", type=Path, default=TABLE, help=f"where to write the table (default: {TABLE})")
    arguments = parser.parse_args(argv)
    edition, files = edition_files(arguments.folder)
    kept = locations(rows(files))
    arguments.output.write_text(table(edition, kept), encoding="utf-8")
    counts = ", ".join(f"{country} {sum(loc.code.startswith(country) for loc in kept)}" for country in COUNTRIES)
    print(f"UN/LOCODE {edition}: {len(kept)} locations ({counts}) written to {arguments.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
