"""Identifiers the FTA and its partners use (DESIGN.md §2): each check accepts the real form and refuses the rest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from stdnum.cn import uscc

from jevs.domain.identifiers import (
    check_country,
    check_currency,
    check_hs_subheading,
    check_listed_location,
    check_locode,
    check_nzbn,
    check_unified_social_credit_code,
    check_unit,
    export_entry_form,
    normalise_certificate_number,
)

pytestmark = pytest.mark.unit

USCC_BASE = "91310000MA1FL6CN4"
VALID_USCC = USCC_BASE + uscc.calc_check_digit(USCC_BASE)
WRONG_USCC_CHECK = USCC_BASE + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != VALID_USCC[-1])


# Certificate numbers


@pytest.mark.parametrize(
    "given",
    [
        "11.1234.12345",
        "COO11123412345",
        "coo11123412345",
        "  11.1234.12345  ",
        " COO11123412345\n",
    ],
)
def test_a_certificate_number_in_either_form_normalises_to_the_dotted_form(given: str) -> None:
    # Given a number in the NZ dotted form or the COO form of NZ export entries
    # When it is normalised
    normalised = normalise_certificate_number(given)
    # Then it is the dotted form
    assert normalised == "11.1234.12345"


@pytest.mark.parametrize(
    "given",
    [
        "",
        "11.1234.1234",
        "11.1234.123456",
        "1.1234.12345",
        "11.123.12345",
        "111234.12345",
        "11-1234-12345",
        "11 1234 12345",
        "11123412345",
        "COO1112341234",
        "COO111234123456",
        "CO11123412345",
        "COO11.1234.12345",
        "AB.1234.12345",
        "11.1234.12345.1",
        "11.1234.1234X",
    ],
)
def test_a_malformed_certificate_number_is_rejected(given: str) -> None:
    # Given a string in neither form
    # When it is normalised, Then it is refused
    with pytest.raises(ValueError, match=r"NN\.NNNN\.NNNNN"):
        normalise_certificate_number(given)


@pytest.mark.parametrize("given", ["١١.١٢٣٤.١٢٣٤٥", "１１.１２３４.１２３４５", "COO١١١٢٣٤١٢٣٤٥"])
def test_a_certificate_number_in_non_ascii_digits_is_rejected(given: str) -> None:
    # Given a number whose digits are not ASCII
    # When it is normalised, Then it is refused
    with pytest.raises(ValueError, match=r"NN\.NNNN\.NNNNN"):
        normalise_certificate_number(given)


@pytest.mark.parametrize("given", ["11.1234.12345", "COO11123412345"])
def test_the_export_entry_form_is_coo_and_the_eleven_digits(given: str) -> None:
    # Given a certificate number in either form
    # When its export entry form is taken
    quoted = export_entry_form(given)
    # Then it is COO followed by the digits
    assert quoted == "COO11123412345"


def test_the_export_entry_form_of_a_malformed_number_is_rejected() -> None:
    # Given a malformed number, When its export entry form is taken, Then it is refused
    with pytest.raises(ValueError, match=r"NN\.NNNN\.NNNNN"):
        export_entry_form("11.1234.1234")


# NZBN


@pytest.mark.parametrize("given", ["9429041234563", "9429047654327"])
def test_an_nzbn_with_a_correct_gs1_check_digit_is_accepted(given: str) -> None:
    # Given 13 digits whose last is the GS1 check digit, When checked, Then it is returned unchanged
    assert check_nzbn(given) == given


def test_an_nzbn_with_a_wrong_check_digit_is_rejected() -> None:
    # Given 13 digits whose last is not the GS1 check digit, When checked, Then the check digit is named
    with pytest.raises(ValueError, match="check digit"):
        check_nzbn("9429041234564")


@pytest.mark.parametrize(
    "given",
    ["", "942904123456", "94290412345630", "942904123456A", " 9429041234563", "9429 041 234 563", "٩٤٢٩٠٤١٢٣٤٥٦٣"],
)
def test_an_nzbn_that_is_not_13_ascii_digits_is_rejected(given: str) -> None:
    # Given something other than 13 digits, When checked, Then it is refused
    with pytest.raises(ValueError, match="NZBN"):
        check_nzbn(given)


# Unified social credit code (China)


def test_a_unified_social_credit_code_with_its_check_character_is_accepted() -> None:
    # Given 17 characters and the GB 32100-2015 check character, When checked, Then it is returned
    assert check_unified_social_credit_code(VALID_USCC) == VALID_USCC


@pytest.mark.parametrize(
    "given",
    [WRONG_USCC_CHECK, USCC_BASE, VALID_USCC + "0", "", "9131000OMA1FL6CN4X"],
    ids=["wrong check character", "17 characters", "19 characters", "empty", "letter O"],
)
def test_a_malformed_unified_social_credit_code_is_rejected(given: str) -> None:
    # Given a code with a wrong check character, length or alphabet, When checked, Then it is refused
    with pytest.raises(ValueError, match="unified social credit code"):
        check_unified_social_credit_code(given)


# Countries and currencies


@pytest.mark.parametrize("given", ["NZ", "CN", "AU", "US"])
def test_an_iso_3166_alpha_2_country_is_accepted(given: str) -> None:
    assert check_country(given) == given


@pytest.mark.parametrize("given", ["", "N", "XX", "ZZ", "NZL", "CHN", "N Z"])
def test_anything_else_as_a_country_is_rejected(given: str) -> None:
    with pytest.raises(ValueError, match="ISO 3166-1"):
        check_country(given)


@pytest.mark.parametrize("given", ["NZD", "CNY", "USD", "AUD"])
def test_an_iso_4217_currency_is_accepted(given: str) -> None:
    assert check_currency(given) == given


@pytest.mark.parametrize("given", ["", "NZ", "NZDD", "ZZZ", "$"])
def test_anything_else_as_a_currency_is_rejected(given: str) -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        check_currency(given)


@pytest.mark.parametrize(
    ("check", "given", "canonical"),
    [(check_country, "cn", "CN"), (check_country, "nz", "NZ"), (check_currency, "nzd", "NZD")],
)
def test_a_lower_case_code_is_never_kept_in_lower_case(check: Callable[[str], str], given: str, canonical: str) -> None:
    # Given a code in lower case
    # When it is checked
    # Then it is refused, or else normalised to the upper-case code every rule compares with
    try:
        result = check(given)
    except ValueError:
        return
    assert result == canonical


# UN/LOCODE


@pytest.mark.parametrize("given", ["NZAKL", "CNSHA", "NZTRG", "CNNGB"])
def test_a_un_locode_is_accepted(given: str) -> None:
    assert check_locode(given) == given


@pytest.mark.parametrize(
    "given",
    ["XXAKL", "NZAK", "NZ1AB", "NZ0AB", "NZAKLX", "nzakl", "NZ AK", "AKL", ""],
    ids=["unknown country", "4 characters", "digit 1", "digit 0", "6 characters", "lower case", "space", "3", "empty"],
)
def test_a_malformed_or_foreign_un_locode_is_rejected(given: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the country check and the form check word it differently
        check_locode(given)


@pytest.mark.parametrize("given", ["NZAKL", "NZTRG", "CNSHA", "CNZZZ", "HKHKG", "AUSYD"])
def test_a_listed_location_or_one_of_a_country_whose_list_jevs_does_not_carry_is_accepted(given: str) -> None:
    # Given a location of New Zealand or China in UN/LOCODE, or any code of another country (Hong Kong, Australia)
    # When it is checked against the code list, Then it passes unchanged
    assert check_listed_location(given) == given


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("NZZZZ", "NZZZZ is not a location of New Zealand in UN/LOCODE"),
        ("CNQQQ", "CNQQQ is not a location of China in UN/LOCODE"),
    ],
)
def test_a_code_of_new_zealand_or_china_that_is_not_in_un_locode_is_rejected(given: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        check_listed_location(given)


# HS 2022 subheadings


@pytest.mark.parametrize("given", ["040221", "010121", "220421"])
def test_an_hs_2022_subheading_that_exists_is_accepted(given: str) -> None:
    assert check_hs_subheading(given) == given


@pytest.mark.parametrize("given", ["999999", "040200"], ids=["no such chapter", "heading, not subheading"])
def test_six_digits_that_are_not_an_hs_2022_subheading_are_rejected(given: str) -> None:
    with pytest.raises(ValueError, match="not a subheading of HS 2022"):
        check_hs_subheading(given)


@pytest.mark.parametrize("given", ["04022", "0402211", "0402.21", "04022A", ""])
def test_an_hs_code_that_is_not_six_digits_is_rejected(given: str) -> None:
    with pytest.raises(ValueError, match="6 digits"):
        check_hs_subheading(given)


# UN/ECE Recommendation 20 units


@pytest.mark.parametrize("given", ["KGM", "TNE", "LTR", "MTQ", "C62"])
def test_a_rec_20_unit_is_accepted(given: str) -> None:
    assert check_unit(given) == given


@pytest.mark.parametrize("given", ["KG", "kgm", "kg", "XYZ", "", "KGM "])
def test_anything_else_as_a_unit_is_rejected(given: str) -> None:
    with pytest.raises(ValueError, match="Recommendation 20"):
        check_unit(given)
