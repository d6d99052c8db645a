"""Party names as matching compares them: what normalisation ignores, and when a difference is a slip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jevs.domain.names import LEGAL_FORMS, NameAgreement, compare_names, normalise_name

pytestmark = pytest.mark.unit

HARBOUR = "Shanghai Harbour Foods Co., Ltd."


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        pytest.param("Kauri Dairy Co-operative Limited", "kauri dairy cooperative", id="hyphen joins, Limited dropped"),
        pytest.param(HARBOUR, "shanghai harbour foods", id="Co., Ltd. dropped"),
        pytest.param("O'Brien's Orchard Ltd", "obriens orchard", id="apostrophes join"),
        pytest.param("Tui Valley Wines (Marlborough) Limited", "tui valley wines marlborough", id="brackets separate"),
        pytest.param("Kiwi/Fruit,Exports", "kiwi fruit exports", id="slash and comma separate"),
        pytest.param("Smith & Sons Pty Ltd", "smith and sons", id="ampersand reads as and"),
        pytest.param(
            "ＳＨＡＮＧＨＡＩ　ＨＡＲＢＯＵＲ　ＦＯＯＤＳ", "shanghai harbour foods", id="full-width forms (NFKC)"
        ),
        pytest.param("Müller GmbH", "müller", id="letters beyond ASCII kept"),
        pytest.param("Straße Imports AG", "strasse imports", id="casefold, not lower"),
        pytest.param("  Kauri   Dairy\u00a0Limited ", "kauri dairy", id="whitespace collapsed"),
        pytest.param("Cooperative Company", "cooperative", id="co is a whole word only"),
        pytest.param("Company Limited", "co ltd", id="only legal forms: kept, canonical"),
        pytest.param("Co., Ltd.", "co ltd", id="only legal forms, abbreviated"),
    ],
)
def test_normalisation_keeps_only_what_names_the_party(name: str, normalised: str) -> None:
    assert normalise_name(name) == normalised


@pytest.mark.parametrize(
    ("on_certificate", "declared", "agreement"),
    [
        pytest.param(
            "Kauri Dairy Co-operative Limited", "KAURI DAIRY CO-OPERATIVE LTD", NameAgreement.SAME, id="case and Ltd"
        ),
        pytest.param(HARBOUR, "Shanghai Harbour Foods Co Ltd", NameAgreement.SAME, id="punctuation"),
        pytest.param(HARBOUR, "Shanghai Harbour Foods Company Limited", NameAgreement.SAME, id="legal form spelt out"),
        pytest.param(HARBOUR, "Shanghai Harbor Foods Co Ltd", NameAgreement.SIMILAR, id="spelling slip"),
        pytest.param(HARBOUR, "Harbour Foods Shanghai", NameAgreement.SIMILAR, id="words reordered"),
        pytest.param("Kauri Dairy Ltd", "Kauri Zairy Ltd", NameAgreement.SIMILAR, id="first letter of a word mistyped"),
        pytest.param(HARBOUR, "Beijing Grain Imports Ltd", NameAgreement.DIFFERENT, id="another company"),
        pytest.param(HARBOUR, "Shanghai Harbour Foods Trading Co Ltd", NameAgreement.DIFFERENT, id="a word more"),
        pytest.param("Kauri Dairy Co-operative Limited", "Kauri Dairy Ltd", NameAgreement.DIFFERENT, id="a word fewer"),
        pytest.param("Company Limited", "Co., Ltd.", NameAgreement.SAME, id="only legal forms, same"),
        pytest.param("Company Limited", "Corporation", NameAgreement.DIFFERENT, id="only legal forms, different"),
        pytest.param("Company Limited", HARBOUR, NameAgreement.DIFFERENT, id="only legal forms against a name"),
        pytest.param("...", "...", NameAgreement.SAME, id="punctuation only, as written"),
        pytest.param("...", "---", NameAgreement.DIFFERENT, id="punctuation only, different"),
    ],
)
def test_names_are_the_same_similar_or_different(on_certificate: str, declared: str, agreement: NameAgreement) -> None:
    assert compare_names(on_certificate, declared) is agreement


def test_each_legal_form_reads_as_its_canonical_spelling_which_is_itself_a_legal_form() -> None:
    for word, canonical in LEGAL_FORMS.items():
        assert normalise_name(word.upper()) == canonical
        assert LEGAL_FORMS[canonical] == canonical


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)
_decorations = st.sampled_from(
    [
        lambda name: name.upper(),
        lambda name: name.lower(),
        lambda name: f"{name} Ltd",
        lambda name: f"{name} Co., Ltd.",
        lambda name: f"{name}, Limited",
        lambda name: f" {name}. ",
    ]
)


@settings(max_examples=200, deadline=None)
@given(name=_names)
def test_a_name_is_the_same_as_itself(name: str) -> None:
    assert compare_names(name, name) is NameAgreement.SAME


@settings(max_examples=200, deadline=None)
@given(first=_names, second=_names)
def test_comparison_is_symmetric(first: str, second: str) -> None:
    assert compare_names(first, second) is compare_names(second, first)


@settings(max_examples=200, deadline=None)
@given(name=_names)
def test_normalising_twice_changes_nothing(name: str) -> None:
    assert normalise_name(normalise_name(name)) == normalise_name(name)


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.from_regex(r"[A-Za-z]{3,10}", fullmatch=True), min_size=1, max_size=4), data=st.data())
def test_case_punctuation_and_legal_form_never_make_a_name_different(words: list[str], data: st.DataObject) -> None:
    # Given a name of plain words that are not themselves legal forms
    name = " ".join(word for word in words if word.casefold() not in LEGAL_FORMS) or "Kauri"
    # When it is retyped with other capitals, punctuation or legal form
    decorate = data.draw(_decorations)
    # Then it is still the same name
    assert compare_names(name, decorate(name)) is NameAgreement.SAME
