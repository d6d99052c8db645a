"""Preference decisions in the unit of work's contract, over every table: kept under their certificate, read back
oldest first, and a second one for the same declaration refused by name (box 5 is decided once)."""

from __future__ import annotations

from datetime import datetime

import pytest

from jevs.domain.preferences import PreferenceDecision, PreferenceOutcome, RefusalCode, RefusalReason
from jevs.service.unit_of_work import Refused
from tests.contract.support import AT, HOUR, Units, issued

pytestmark = pytest.mark.contract

NUMBER = "11.2026.00001"


def decision(
    declaration_id: str, at: datetime, outcome: PreferenceOutcome = PreferenceOutcome.GIVEN
) -> PreferenceDecision:
    reasons = [] if outcome is PreferenceOutcome.GIVEN else [RefusalReason(code=RefusalCode.OTHER, text="see file")]
    return PreferenceDecision(
        certificate_number=NUMBER,
        declaration_id=declaration_id,
        declaration_number=declaration_id.removeprefix("CNIM-"),
        decision=outcome,
        reasons=reasons,
        decided_at=at,
        decided_by="cn-customs",
        certificate_version=1,
    )


def keep(units: Units, kept: PreferenceDecision) -> None:
    uow = units()
    uow.certificates.keep_preference(kept)
    uow.commit()


def test_decisions_read_back_oldest_first(units: Units) -> None:
    # Given a certificate and two decisions on two of its declarations, the later kept first
    uow = units()
    uow.certificates.add(issued(NUMBER))
    uow.commit()
    later, earlier = decision("CNIM-A2", AT + HOUR), decision("CNIM-B1", AT, PreferenceOutcome.NOT_GIVEN)
    keep(units, later)
    keep(units, earlier)
    # When they are read back, then they come oldest first, as kept
    assert units().certificates.preferences(NUMBER) == [earlier, later]


def test_a_second_decision_for_the_same_declaration_is_refused_by_name(units: Units) -> None:
    # Given a decision on a declaration
    keep(units, decision("CNIM-A1", AT))
    # When another one for the same declaration is committed
    again = units()
    again.certificates.keep_preference(decision("CNIM-A1", AT + HOUR, PreferenceOutcome.NOT_GIVEN))
    with pytest.raises(Refused) as refused:
        again.commit()
    # Then it is refused by its name, and the first stays
    assert refused.value.names == {("preference", f"{NUMBER}/CNIM-A1")}
    assert units().certificates.preferences(NUMBER) == [decision("CNIM-A1", AT)]
