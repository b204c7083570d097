"""Storage limitation: which clips are due (chalicelib.domain.retention)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.domain.clips import Clip, ClipStatus
from chalicelib.domain.retention import plan_expiry

START = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
RETAIN_UNTIL = START + timedelta(days=7)


def clip(**changes: Any) -> Clip:
    fields: dict[str, Any] = {
        "clip_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "site": "aizkraukle",
        "camera_id": "cam-01",
        "gateway_id": "gw-aizkraukle-1",
        "start": START,
        "end": START + timedelta(seconds=60),
        "size": 1_000,
        "sha256": "ab" * 32,
        "status": ClipStatus.INDEXED,
        "retain_until": RETAIN_UNTIL,
        "registered_at": START,
        "object_key": "clips/aizkraukle/cam-01/2026/11/18/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
    }
    fields.update(changes)
    return Clip.model_validate(fields)


def test_clip_due_at_exactly_retain_until_expires() -> None:
    due = clip()
    assert plan_expiry([due], RETAIN_UNTIL) == [due]


def test_clip_survives_until_retain_until() -> None:
    assert plan_expiry([clip()], RETAIN_UNTIL - timedelta(milliseconds=1)) == []


def test_held_clip_survives_retention() -> None:
    assert plan_expiry([clip(holds=frozenset({"case-17"}))], RETAIN_UNTIL + timedelta(days=365)) == []


def test_expired_clip_not_planned_again() -> None:
    assert plan_expiry([clip(status=ClipStatus.EXPIRED)], RETAIN_UNTIL + timedelta(days=1)) == []


def test_quarantined_and_never_uploaded_clips_expire_too() -> None:
    # Bad or missing footage is still a record about a camera's subjects: it does not outlive retention.
    stale = [clip(status=ClipStatus.QUARANTINED), clip(status=ClipStatus.REGISTERED)]
    assert plan_expiry(stale, RETAIN_UNTIL) == stale


def test_plan_keeps_only_due_clips_of_a_mixed_page() -> None:
    due = clip(clip_id="01ARZ3NDEKTSV4RRFFQ69G5FA1")
    later = clip(clip_id="01ARZ3NDEKTSV4RRFFQ69G5FA2", retain_until=RETAIN_UNTIL + timedelta(hours=1))
    held = clip(clip_id="01ARZ3NDEKTSV4RRFFQ69G5FA3", holds=frozenset({"case-17"}))

    def page() -> Iterator[Clip]:
        yield from (later, due, held)

    assert plan_expiry(page(), RETAIN_UNTIL) == [due]
