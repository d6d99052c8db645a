"""New Zealand's time: certificates are dated, and applications fall due, by the New Zealand calendar.

Every region, the Chatham Islands included, keeps one legal time for JEVS's purposes (Pacific/Auckland), so
the system has exactly one time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

NEW_ZEALAND = ZoneInfo("Pacific/Auckland")


def new_zealand_date(moment: datetime) -> date:
    """The day it is in New Zealand at ``moment`` (aware): a server on UTC may still be on yesterday."""
    return moment.astimezone(NEW_ZEALAND).date()
