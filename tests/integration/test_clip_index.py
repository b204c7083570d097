"""The clip index's conditional writes and key queries, on the table the template defines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from chalicelib import wiring
from chalicelib.domain.clips import Clip, ClipStatus, Stills, VideoFacts
from tests.integration.conftest import TEST_SITE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
VIDEO = VideoFacts(codec="h264", width=320, height=240, fps=10.0, duration_s=2.0)

THUMBNAIL, STILLS = ("thumbnails/aizkraukle/cam-1/x/stills.jpg", "t1"), Stills(count=1, width=320, height=180)


def clip(number: int, *, retain_days: float = 7, camera: str = "cam-1") -> Clip:
    start = NOW - timedelta(minutes=number)
    return Clip(
        clip_id=f"01J{number:023d}",
        site="aizkraukle",
        camera_id=camera,
        gateway_id="gw-test",
        start=start,
        end=start + timedelta(seconds=2),
        size=100,
        sha256="a" * 64,
        status=ClipStatus.REGISTERED,
        retain_until=start + timedelta(days=retain_days),
        registered_at=NOW,
        object_key=f"clips/aizkraukle/{camera}/2026/11/25/01J{number:023d}.mp4",
    )


def indexed(number: int, **kwargs) -> Clip:
    index = wiring.clip_index()
    new = index.register(clip(number, **kwargs))
    assert new is not None
    claimed = index.claim_upload(new, "v1")
    assert claimed is not None
    done = index.mark_indexed(claimed, VIDEO, THUMBNAIL, STILLS, "v1", NOW)
    assert done is not None
    return done


def test_a_clip_id_is_registered_once(deployed):
    index = wiring.clip_index()
    assert index.register(clip(1)) is not None
    assert index.register(clip(1)) is None


def test_a_judged_clip_cannot_be_claimed_again(deployed):
    done = indexed(1)
    assert wiring.clip_index().claim_upload(done, "v1") is None
    assert wiring.clip_index().claim_upload(done, "v2") is None


def test_another_version_cannot_steal_a_claim(deployed):
    index = wiring.clip_index()
    index.register(clip(1))
    claimed = index.claim_upload(clip(1), "v1")
    assert index.claim_upload(clip(1), "v2") is None
    stealing = claimed.model_copy(update={"object_version": "v2"})
    assert index.mark_indexed(stealing, VIDEO, THUMBNAIL, STILLS, "v2", NOW) is None


def test_search_sees_only_indexed_clips_of_the_camera_in_the_window(deployed):
    indexed(1)
    indexed(2, camera="cam-2")
    wiring.clip_index().register(clip(3))  # registered, never uploaded

    page = wiring.clip_index().camera_clips("cam-1", NOW - timedelta(hours=1), NOW, 10, None)

    assert [c.clip_id for c in page.clips] == [clip(1).clip_id]


def test_due_clips_are_read_from_the_expiry_index_only_when_due(deployed):
    indexed(1, retain_days=1)
    indexed(2, retain_days=10)

    pages = wiring.clip_index().due_for_expiry("aizkraukle", NOW + timedelta(days=2), 7, 10)

    assert {c.clip_id for page in pages for c in page} == {clip(1).clip_id}


def test_clips_older_than_a_shortened_policy_are_read_as_due(deployed):
    indexed(1, retain_days=10)  # stored under a 10-day policy
    indexed(2, retain_days=10)

    pages = wiring.clip_index().due_for_expiry("aizkraukle", NOW + timedelta(minutes=1, days=1), 1, 10)

    assert {c.clip_id for page in pages for c in page} == {clip(1).clip_id, clip(2).clip_id}


def test_held_clips_do_not_stop_the_sweep_from_paging_on(deployed, monkeypatch):
    wiring.catalog().put_site(TEST_SITE)
    monkeypatch.setattr("chalicelib.handlers.retention.PAGE_SIZE", 2)
    for number in range(1, 6):
        indexed(number, retain_days=1)
    table = boto3.resource("dynamodb").Table(wiring.get_settings().clips_table)
    for number in (1, 2, 3):  # the oldest three are held by a case
        table.update_item(
            Key={"clip_id": clip(number).clip_id},
            UpdateExpression="SET holds = :h",
            ExpressionAttributeValues={":h": {"case-1"}},
        )

    report = wiring.retention_sweep().site("aizkraukle", NOW + timedelta(days=2))

    assert report.expired == 2
    statuses = {n: wiring.clip_index().get(clip(n).clip_id).status for n in range(1, 6)}
    assert statuses == {1: "indexed", 2: "indexed", 3: "indexed", 4: "expired", 5: "expired"}
