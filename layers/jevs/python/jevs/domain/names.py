"""Whether the party a declaration names is the party the certificate names (DESIGN.md §4).

Customs systems retype names: capitals, punctuation and the legal form ("Co., Ltd." or "Company Limited")
vary between the certificate and a declaration without the party changing. Names are therefore compared
after ``normalise_name``; what still differs is scored with ``rapidfuzz``, and a close score is reported as
a warning (``SIMILAR``) rather than an error, so an officer looks at it instead of the goods being refused
for a typing slip.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from enum import StrEnum

# Words that say what kind of legal person a party is, not which one, each with the one spelling it is read
# as. They are dropped before names are compared ("Kauri Dairy Co-operative Limited" and "KAURI DAIRY
# CO-OPERATIVE LTD" are the same party); the canonical spelling is used only for a name made of nothing else.
# They are matched as whole words after punctuation is removed, so "co" never touches "cooperative".
LEGAL_FORMS: Mapping[str, str] = {
    # Common-law companies (NZ, China's English names, Australia, Singapore, UK, US).
    "ltd": "ltd",
    "limited": "ltd",
    "co": "co",
    "company": "co",
    "corp": "corp",
    "corporation": "corp",
    "inc": "inc",
    "incorporated": "inc",
    "llc": "llc",
    "llp": "llp",
    "lp": "lp",
    "plc": "plc",
    "pty": "pty",
    "pte": "pte",
    "pvt": "pvt",
    # Continental European forms.
    "gmbh": "gmbh",
    "ag": "ag",
    "sa": "sa",
    "sarl": "sarl",
    "srl": "srl",
    "bv": "bv",
    "nv": "nv",
    "kk": "kk",
}

# Characters that join the parts of one word: deleted, so "Co-operative" reads "cooperative" and "Co." reads
# "co". Hyphens and apostrophes are listed in their typographic forms too (NFKC leaves most of them alone).
_JOINERS = frozenset(".-'`´‐‑‒–—’‘ʼ")

# "&" reads as the word it stands for, so "Smith & Sons" and "Smith and Sons" are the same name; as a bare
# separator the two would differ by a whole word.
_AMPERSAND = "&"

# Scores run from 0 to 100 (``similarity``). At 88, a slip of a letter or two is similar ("Shanghai Harbour
# Foods"/"Shanghai Harbor Foods": 98, "Kauri Dairy"/"Kauri Zairy": 91), while a word more or less is not
# ("Shanghai Harbour Foods"/"Shanghai Harbour Foods Trading": 85, "Kauri Dairy"/"Kauri Dairy Co-operative":
# 65) and an unrelated name is far below ("Beijing Grain Imports": 37). A false "similar" lets another party
# pass with only a warning, which costs more than a false "different" (an officer checks an error), so the
# threshold sits above the one-extra-word scores rather than at the bottom of the suggested 85-90 band.
SIMILARITY_THRESHOLD = 88.0


class NameAgreement(StrEnum):
    SAME = "SAME"
    SIMILAR = "SIMILAR"
    DIFFERENT = "DIFFERENT"


def _words(name: str) -> list[str]:
    """The name's words: NFKC, casefolded, joiners deleted, any other punctuation or symbol a space."""
    text = unicodedata.normalize("NFKC", name).casefold()
    characters: list[str] = []
    for character in text:
        if character in _JOINERS:
            continue
        if character == _AMPERSAND:
            characters.append(" and ")
        elif unicodedata.category(character)[0] in "LNM":  # letters, digits, combining marks
            characters.append(character)
        else:
            characters.append(" ")
    return "".join(characters).split()


def normalise_name(name: str) -> str:
    """The form two names are compared in: e.g. "Shanghai Harbour Foods Co., Ltd." → "shanghai harbour foods".

    Legal-form words (``LEGAL_FORMS``) are dropped; a name made only of them keeps them in their canonical
    spelling ("Company Limited" → "co ltd"), so it never compares as empty against another.
    """
    words = _words(name)
    distinctive = [word for word in words if word not in LEGAL_FORMS]
    if distinctive:
        return " ".join(distinctive)
    return " ".join(LEGAL_FORMS[word] for word in words)


def similarity(first: str, second: str) -> float:
    """How alike two normalised names are, 0 to 100.

    The better of two rapidfuzz scores: ``ratio`` (edit distance over the names as written) catches a slip
    in any letter, ``token_sort_ratio`` (the same over the words in sorted order) catches words put in
    another order ("Harbour Foods Shanghai"). Each alone fails the other's case: sorting moves a word whose
    first letter was mistyped, and plain ``ratio`` punishes reordering. ``WRatio`` is not used because its
    partial matching scores any name found inside a longer one at 90 ("Dairy" against "Kauri Dairy
    Co-operative"), which would turn a different party into a mere warning.
    """
    # Imported here: only the matcher compares names, only its Lambda layers hold rapidfuzz (README "Packaging"),
    # and only a name that still differs after normalising is scored (a cold start pays nothing for it).
    from rapidfuzz import fuzz

    return max(fuzz.ratio(first, second), fuzz.token_sort_ratio(first, second))


def _as_written(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def compare_names(certificate_name: str, declared_name: str) -> NameAgreement:
    """SAME when the normalised names are equal, SIMILAR when they score at least ``SIMILARITY_THRESHOLD``."""
    on_certificate = normalise_name(certificate_name)
    declared = normalise_name(declared_name)
    if not on_certificate or not declared:
        # Nothing but punctuation on one side: there is nothing to score, only the text as written.
        return (
            NameAgreement.SAME
            if _as_written(certificate_name) == _as_written(declared_name)
            else NameAgreement.DIFFERENT
        )
    if on_certificate == declared:
        return NameAgreement.SAME
    if similarity(on_certificate, declared) >= SIMILARITY_THRESHOLD:
        return NameAgreement.SIMILAR
    return NameAgreement.DIFFERENT
