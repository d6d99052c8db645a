"""Identifiers the FTA and its partners use, and how each is checked.

Each check is a plain function that returns the normalised value or raises ``ValueError`` with a
message a partner can act on; the pydantic types at the bottom wire them into the models.
"""

from __future__ import annotations

import re
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, StringConstraints

from jevs.reference import hs2022_subheadings, rec20_units, unlocode_countries, unlocode_locations

_DOTTED_NUMBER = re.compile(r"^([0-9]{2})\.([0-9]{4})\.([0-9]{5})$")
# NZ export entries quote the certificate as COO followed by its eleven digits.
_EXPORT_ENTRY_NUMBER = re.compile(r"^COO([0-9]{2})([0-9]{4})([0-9]{5})$")
# Digits are ASCII only (never \d, which admits every script's digits and so a second spelling of a number).
_LOCODE = re.compile(r"^([A-Z]{2})([A-Z2-9]{3})$")
_HS_SUBHEADING = re.compile(r"^[0-9]{6}$")
# Codes are upper-case ASCII: "cn" would pass pycountry's case-blind lookup and then match nothing stored.
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def normalise_certificate_number(value: str) -> str:
    """Return the NZ dotted form ``NN.NNNN.NNNNN`` of a certificate number given in either form."""
    text = value.strip().upper()
    if match := _DOTTED_NUMBER.match(text) or _EXPORT_ENTRY_NUMBER.match(text):
        return ".".join(match.groups())
    raise ValueError("a certificate number is NN.NNNN.NNNNN (e.g. 11.1234.12345) or COO followed by 11 digits")


def export_entry_form(number: str) -> str:
    """The ``COO…`` form NZ export entries quote, for a number in the dotted form."""
    return "COO" + normalise_certificate_number(number).replace(".", "")


def check_nzbn(value: str) -> str:
    """A New Zealand Business Number: 13 digits whose last is the GS1 check digit."""
    if not re.fullmatch(r"[0-9]{13}", value):
        raise ValueError("an NZBN is 13 digits")
    # Imported here, as in the next check: python-stdnum imports pydoc, a cold start's tenth of a second that only
    # the validation of a business number needs.
    from stdnum import ean

    if not ean.is_valid(value):
        raise ValueError("the NZBN's check digit (GS1) is wrong")
    return value


def check_unified_social_credit_code(value: str) -> str:
    """China's unified social credit code: 18 characters, the last a check character (GB 32100-2015)."""
    from stdnum.cn import uscc
    from stdnum.exceptions import ValidationError as StdnumValidationError

    try:
        return str(uscc.validate(value))
    except StdnumValidationError as error:
        raise ValueError(f"not a valid unified social credit code: {error}") from None


def check_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code."""
    if not _COUNTRY.fullmatch(value) or pycountry.countries.get(alpha_2=value) is None:
        raise ValueError("a country is its ISO 3166-1 alpha-2 code, e.g. NZ or CN")
    return value


def check_currency(value: str) -> str:
    """An ISO 4217 currency code."""
    if not _CURRENCY.fullmatch(value) or pycountry.currencies.get(alpha_3=value) is None:
        raise ValueError("a currency is its ISO 4217 code, e.g. NZD")
    return value


def check_locode(value: str) -> str:
    """A UN/LOCODE: the country's alpha-2 code and three letters or digits 2-9, e.g. NZAKL or CNSHA."""
    match = _LOCODE.fullmatch(value)
    if not match:
        raise ValueError("a port is a UN/LOCODE: 2-letter country and 3 characters, e.g. NZAKL")
    check_country(match.group(1))
    return value


def locode_country(code: str) -> str:
    """The country of a UN/LOCODE (checked by ``check_locode``): its first two letters."""
    return code[:2]


def check_listed_location(code: str) -> str:
    """A UN/LOCODE that the code list JEVS carries has, for the countries it carries (New Zealand and China); a code
    of any other country passes, as JEVS cannot tell whether it exists."""
    country = locode_country(code)
    if country in unlocode_countries() and code not in unlocode_locations():
        listed = pycountry.countries.get(alpha_2=country)
        raise ValueError(f"{code} is not a location of {listed.name if listed else country} in UN/LOCODE")
    return code


def check_hs_subheading(value: str) -> str:
    """A six-digit subheading that exists in HS 2022."""
    if not _HS_SUBHEADING.fullmatch(value):
        raise ValueError("an HS code is the 6 digits of a subheading, e.g. 040221")
    if value not in hs2022_subheadings():
        raise ValueError(f"{value} is not a subheading of HS 2022")
    return value


def check_unit(value: str) -> str:
    """A unit of measure from UN/ECE Recommendation 20."""
    if value not in rec20_units():
        raise ValueError("a unit is a UN/ECE Recommendation 20 code, e.g. KGM, TNE, LTR, MTQ, C62")
    return value


def _upper_stripped(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Each with a length no valid one reaches (DESIGN.md §6.5: every string has a limit, stated in the OpenAPI document),
# checked before the identifier's own rules read it.
CertificateNumber = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    StringConstraints(max_length=32),
    AfterValidator(normalise_certificate_number),
]
Nzbn = Annotated[str, StringConstraints(max_length=32), AfterValidator(check_nzbn)]
UnifiedSocialCreditCode = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    StringConstraints(max_length=32),
    AfterValidator(check_unified_social_credit_code),
]
CountryCode = Annotated[str, StringConstraints(max_length=8), AfterValidator(check_country)]
CurrencyCode = Annotated[str, StringConstraints(max_length=8), AfterValidator(check_currency)]
Locode = Annotated[str, StringConstraints(max_length=16), AfterValidator(check_locode)]
HsSubheading = Annotated[str, StringConstraints(max_length=16), AfterValidator(check_hs_subheading)]
Rec20Unit = Annotated[str, StringConstraints(max_length=8), AfterValidator(check_unit)]
