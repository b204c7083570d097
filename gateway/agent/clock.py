"""UTC times as the archive writes them: millisecond precision, `Z` suffix, fixed width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# The Date header has whole seconds, so an offset measured from it is good to about a second: an NVR
# time within this of the archive's clock is taken as it is.
CLOCK_TOLERANCE = timedelta(seconds=2)


def to_ms(moment: datetime) -> datetime:
    """Cut to the millisecond: the archive stores milliseconds, so a retried registration must match it."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time the agent handles is UTC with a zone")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """`2026-11-25T14:00:00.000Z`."""
    utc = to_ms(moment)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time with a zone; refuse one without (it would be read as local time)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone")
    return moment.astimezone(UTC)


def from_ns(nanoseconds: int) -> datetime:
    """A file's st_mtime_ns as an aware UTC datetime."""
    seconds, remainder = divmod(nanoseconds, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=remainder // 1000)


def stamp(moment: datetime) -> str:
    """`20261125T140000.000Z`: a time fit for a file name that still sorts as text."""
    return iso(moment).replace("-", "").replace(":", "")


def on_archive_clock(
    recorded_end: datetime, now: datetime, offset_s: float | None, tolerance: timedelta = CLOCK_TOLERANCE
) -> tuple[datetime, float | None]:
    """A recording's end judged against the archive's clock (our `now` plus the measured offset, or our
    own clock while no answer has told us the offset): an end later than that is an NVR clock running
    ahead, so it is clamped to the archive's now, and the seconds it was moved back are the correction.

    A segment is taken after it ended, so its true end is no later than now: the clamp is the closest
    time that is surely not in the future. (end, correction in seconds or None if not moved).
    """
    archive_now = to_ms(now + timedelta(seconds=offset_s or 0.0))
    if recorded_end <= archive_now + tolerance:
        return recorded_end, None
    return archive_now, round((recorded_end - archive_now).total_seconds(), 3)
