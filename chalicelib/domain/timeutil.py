"""UTC timestamps as fixed-width ISO 8601 strings, so that they sort as text in DynamoDB keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def iso(moment: datetime) -> str:
    """`2026-11-25T14:00:00.000Z`: always UTC, always millisecond precision."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in the archive is UTC with a zone")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 time with a zone; refuse one without."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone; send UTC, e.g. 2026-11-25T14:00:00Z")
    return moment.astimezone(UTC)


def site_date(moment: datetime, zone: str) -> date:
    """The calendar day at the site (Art. 12(3) deadlines count the site's days, not UTC's)."""
    return moment.astimezone(ZoneInfo(zone)).date()
