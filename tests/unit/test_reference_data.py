"""The UN/LOCODE reference data box 4's ports are checked against (DESIGN.md §2), and the script that extracts it from
UNECE's release files (``infrastructure/extract_unlocode.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure import extract_unlocode
from jevs.reference import unlocode_countries, unlocode_locations

pytestmark = pytest.mark.unit

# Ports New Zealand's trade with China runs through, and those the tests and examples name.
KNOWN = {
    "NZAKL": "Auckland",
    "NZTRG": "Tauranga",
    "NZLYT": "Lyttelton",
    "NZNPE": "Napier",
    "NZPOE": "Port Chalmers",
    "NZWLG": "Wellington",
    "CNSHA": "Shanghai Hongqiao International Apt",
    "CNNGB": "Ningbo Lishe International Apt",
    "CNTAO": "Qingdao Jiaodong International Apt",
    "CNSZX": "Shenzhen Baoan International Apt",
    "CNZZZ": "Zhengzhoudong Railway Station",
}


@pytest.mark.parametrize(("code", "name"), KNOWN.items())
def test_a_known_location_of_new_zealand_or_china_is_listed_with_its_name(code: str, name: str) -> None:
    assert unlocode_locations()[code] == name


@pytest.mark.parametrize("code", ["NZZZZ", "NZQQQ", "NZ999", "CNQQQ", "CNXYZ", "CN999"])
def test_a_made_up_code_is_not_listed(code: str) -> None:
    assert code not in unlocode_locations()


def test_the_list_covers_new_zealand_and_china_and_no_other_country() -> None:
    # Given the extract of UN/LOCODE 2023-1, When its countries are read, Then they are the FTA's two parties
    assert unlocode_countries() == {"NZ", "CN"}
    assert "HKHKG" not in unlocode_locations()


def test_the_list_holds_every_location_of_the_two_countries_in_the_2023_1_edition() -> None:
    locations = unlocode_locations()
    assert sum(code.startswith("NZ") for code in locations) == 341
    assert sum(code.startswith("CN") for code in locations) == 1670


# -- the extraction ------------------------------------------------------------------------------------------

# UNECE's layout, one line of each kind the extraction meets: a country heading, a reference entry with no code,
# an entry marked for deletion, another country's, and locations (one with a name in ISO 8859-1).
PART_1 = [
    ',"AU",,".AUSTRALIA",,,,,,,,',
    ',"AU","SYD","Sydney","Sydney","NSW","1234----","AI","0501",,"3352S 15112E",""',
    ',"CN",,".CHINA",,,,,,,,',
    '=,"CN",,"Peking = Beijing","Peking = Beijing",,,,,,,',
    ',"CN","LUH","L\xfc-hua Shan","Lu-hua Shan","ZJ","1-------","RL","0401",,"3049N 12237E",',
    'X,"CN","OLD","Old Town","Old Town","ZJ","1-------","XX","0401",,,',
]
PART_2 = [
    ',"NZ",,".NEW ZEALAND",,,,,,,,',
    ',"NZ","AKL","Auckland","Auckland","AUK","12345---","AC","0001",,"3651S 17446E",""',
]


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A folder as UNECE releases an edition: code list parts in ISO 8859-1, beside files of other kinds."""
    (tmp_path / "2099-1 UNLOCODE CodeListPart1.csv").write_text("\n".join(PART_1), encoding="iso-8859-1")
    (tmp_path / "2099-1 UNLOCODE CodeListPart2.csv").write_text("\n".join(PART_2), encoding="iso-8859-1")
    (tmp_path / "2099-1 SubdivisionCodes.csv").write_text('"NZ","AUK","Auckland","Region"\n', encoding="iso-8859-1")
    return tmp_path


def test_the_extraction_keeps_every_coded_location_of_the_two_countries(release: Path, tmp_path: Path) -> None:
    # Given an edition's release files
    output = tmp_path / "table.tsv"
    # When the table is extracted from them
    extract_unlocode.main([str(release), "--output", str(output)])
    # Then it names the edition and lists the coded, live locations of New Zealand and China, sorted, in UTF-8
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# UN/LOCODE 2099-1 (UNECE)")
    assert [line for line in lines if not line.startswith("#")] == [
        "CNLUH\tLü-hua Shan\tZJ\t1-------\tRL",
        "NZAKL\tAuckland\tAUK\t12345---\tAC",
    ]


def test_the_extraction_refuses_files_that_are_not_in_unece_s_layout(release: Path, tmp_path: Path) -> None:
    # Given a code list part with a column missing
    (release / "2099-1 UNLOCODE CodeListPart3.csv").write_text(',"NZ","WLG","Wellington"\n', encoding="iso-8859-1")
    # When the table is extracted, Then it stops, naming the file and line, and writes nothing
    with pytest.raises(SystemExit, match=r"CodeListPart3\.csv:1: 4 columns"):
        extract_unlocode.main([str(release), "--output", str(tmp_path / "table.tsv")])
    assert not (tmp_path / "table.tsv").exists()


def test_the_table_carried_is_the_extraction_of_its_edition() -> None:
    # Given the table JEVS carries, When its first line is read, Then it names the edition the README describes
    first_line = extract_unlocode.TABLE.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# UN/LOCODE 2023-1 (UNECE): the locations of NZ and CN, every one with a code."
