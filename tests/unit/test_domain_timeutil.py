"""Fixed-width UTC ISO 8601 times (chalicelib.domain.timeutil)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.domain.timeutil import iso, parse_time

RIGA_WINTER = timezone(timedelta(hours=2))


def test_iso_of_whole_second_has_milliseconds_and_z() -> None:
    assert iso(datetime(2026, 11, 25, 14, 0, tzinfo=UTC)) == "2026-11-25T14:00:00.000Z"


def test_iso_converts_offset_to_utc() -> None:
    assert iso(datetime(2026, 11, 25, 16, 0, tzinfo=RIGA_WINTER)) == "2026-11-25T14:00:00.000Z"


def test_iso_truncates_to_milliseconds() -> None:
    assert iso(datetime(2026, 11, 25, 14, 0, 0, 999_999, tzinfo=UTC)) == "2026-11-25T14:00:00.999Z"


def test_iso_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2026, 11, 25, 14, 0))  # noqa: DTZ001 - the naive time under test


def test_parse_time_reads_z_as_utc() -> None:
    moment = parse_time("2026-11-25T14:00:00Z")
    assert moment == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_parse_time_converts_offset_to_utc() -> None:
    moment = parse_time("2026-11-25T16:00:00.250+02:00")
    assert moment == datetime(2026, 11, 25, 14, 0, 0, 250_000, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_parse_time_refuses_time_without_zone() -> None:
    with pytest.raises(ValueError, match="no zone"):
        parse_time("2026-11-25T14:00:00")


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-25 14:00 UTC"])
def test_parse_time_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_parse_time_reads_back_iso() -> None:
    moment = datetime(2026, 11, 25, 14, 0, 0, 123_000, tzinfo=UTC)
    assert parse_time(iso(moment)) == moment
