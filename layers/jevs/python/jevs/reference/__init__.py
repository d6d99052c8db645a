"""Reference code lists the certificate rules check against, read once and lazily from ``data/``."""

from __future__ import annotations

from functools import cache
from importlib import resources


def _read_table(file_name: str) -> dict[str, tuple[str, ...]]:
    """Read a tab-separated code list (``code<TAB>name[<TAB>flags...]``), skipping ``#`` comments."""
    text = resources.files(__package__).joinpath("data", file_name).read_text(encoding="utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code, *rest = line.split("\t")
        table[code] = tuple(rest)
    return table


@cache
def hs2022_subheadings() -> dict[str, str]:
    """Every six-digit subheading of HS 2022, mapped to its description."""
    return {code: fields[0] for code, fields in _read_table("hs2022-subheadings.tsv").items()}


@cache
def rec20_units() -> dict[str, str]:
    """UN/ECE Recommendation 20 unit codes admitted for quantities, mapped to their names."""
    return {code: fields[0] for code, fields in _read_table("unece-rec20-units.tsv").items()}


@cache
def rec21_package_kinds() -> dict[str, str]:
    """UN/ECE Recommendation 21 package kinds admitted for box 9, mapped to their names."""
    return {code: fields[0] for code, fields in _read_table("unece-rec21-packages.tsv").items()}


@cache
def rec21_bulk_kinds() -> frozenset[str]:
    """The Recommendation 21 codes for goods carried in bulk, which have no package count."""
    return frozenset(code for code, fields in _read_table("unece-rec21-packages.tsv").items() if "bulk" in fields[1:])


@cache
def unlocode_locations() -> dict[str, str]:
    """Every UN/LOCODE location of New Zealand and China (edition and source in ``data/README.md``), mapped to its
    name."""
    return {code: fields[0] for code, fields in _read_table("unlocode-nz-cn.tsv").items()}


@cache
def unlocode_countries() -> frozenset[str]:
    """The countries whose locations ``unlocode_locations`` lists in full: a code of another country is not in it
    because JEVS does not carry that country's list, not because the place does not exist."""
    return frozenset(code[:2] for code in unlocode_locations())
