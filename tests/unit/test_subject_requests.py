"""Art. 12(3) deadlines: one month from receipt, extendable by two, clamped at month ends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from chalicelib.domain.subject_requests import (
    ExportRequest,
    NewSubjectRequest,
    add_months,
    deadline_for,
    extended_deadline,
)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 15), date(2026, 2, 15)),
        (date(2026, 1, 31), date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 12, 31), date(2027, 1, 31)),  # across the year
        (date(2026, 2, 28), date(2026, 3, 28)),  # not "end of month to end of month"
    ],
)
def test_answer_is_due_one_month_after_receipt(received, due):
    assert deadline_for(received) == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 31), date(2026, 4, 30)),
        (date(2026, 11, 30), date(2027, 2, 28)),
        (date(2026, 5, 5), date(2026, 8, 5)),
    ],
)
def test_extension_adds_two_months_to_the_first(received, due):
    assert extended_deadline(received) == due


def test_add_months_keeps_the_day_where_it_exists():
    assert add_months(date(2026, 7, 30), 7) == date(2027, 2, 28)
    assert add_months(date(2026, 7, 28), 7) == date(2027, 2, 28)


def test_request_window_must_be_forwards_and_bounded():
    base = {
        "site_id": "birzai",
        "camera_ids": ["birzai-lake"],
        "received": "2026-11-20",
        "description": "red coat, walking a dog",
    }
    with pytest.raises(ValidationError, match="after start"):
        NewSubjectRequest.model_validate(base | {"start": "2026-11-20T12:00:00Z", "end": "2026-11-20T11:00:00Z"})
    with pytest.raises(ValidationError, match="31 days"):
        NewSubjectRequest.model_validate(base | {"start": "2026-09-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"})
    ok = NewSubjectRequest.model_validate(base | {"start": "2026-11-20T11:00:00Z", "end": "2026-11-20T12:00:00Z"})
    assert ok.start == datetime(2026, 11, 20, 11, tzinfo=UTC)


def test_an_export_asks_for_something():
    with pytest.raises(ValidationError, match="stills_at_s, an excerpt"):
        ExportRequest.model_validate({"clip_id": "01J", "boxes": [{"x": 0, "y": 0, "width": 10, "height": 10}]})
