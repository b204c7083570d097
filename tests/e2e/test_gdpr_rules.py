"""GDPR rules over HTTP on the local stack: retention policy, legal holds, erasure, the public notice.
Each test tries to break one rule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.timeutil import parse_time
from local.api_client import http
from tests.e2e.conftest import sweep_at

pytestmark = pytest.mark.e2e


@contextmanager
def retention_policy(official, site: str, days: int, justification: str = "") -> Iterator[None]:
    """Set a site's policy for the duration of a test, then put the demo policy back."""
    dpo = official("dpo", site)
    before = dpo.get(f"/sites/{site}/retention").expect(200)
    dpo.request("PUT", f"/sites/{site}/retention", {"days": days, "justification": justification}).expect(200)
    try:
        yield
    finally:
        dpo.request(
            "PUT",
            f"/sites/{site}/retention",
            {"days": before["retention_days"], "justification": before["retention_justification"]},
        ).expect(200)


def versions(aws, archive, prefix: str) -> list[dict]:
    listing = aws.client("s3").list_object_versions(Bucket=archive.clips_bucket, Prefix=prefix)
    return listing.get("Versions", [])


def clip_key(clip, site: str, clip_id: str) -> str:
    return f"clips/{site}/{clip.camera_id}/{clip.start:%Y/%m/%d}/{clip_id}.mp4"


# --- retention policy -------------------------------------------------------------------------------------


def test_retention_beyond_the_legal_maximum_is_refused(official):
    answer = official("dpo", "aizkraukle").request(
        "PUT", "/sites/aizkraukle/retention", {"days": 31, "justification": "we would like a month"}
    )
    assert answer.status == 400
    assert "at most 30 days" in answer.body["message"]


def test_retention_over_three_days_needs_a_justification(official):
    answer = official("dpo", "birzai").request("PUT", "/sites/birzai/retention", {"days": 10, "justification": " "})
    assert answer.status == 400
    assert "justification" in answer.body["message"]


def test_only_the_sites_dpo_changes_retention(official):
    body = {"days": 2}
    assert official("operator", "aizkraukle").request("PUT", "/sites/aizkraukle/retention", body).status == 403
    assert official("dpo", "birzai").request("PUT", "/sites/aizkraukle/retention", body).status == 403


def test_retention_change_is_recorded_with_its_justification(official):
    with retention_policy(official, "birzai", 10, "fortnightly market needs a longer look-back"):
        events = official("auditor", "birzai").get("/audit", {"site": "birzai"}).expect(200)["events"]
    change = next(e for e in events if e["action"] == "retention.set" and "→ 10 days" in e["target"])
    assert change["reason"] == "fortnightly market needs a longer look-back"
    assert change["actor"] == "user:dpo-birzai"


def test_a_shorter_policy_applies_to_footage_already_stored(record, upload, official, archive):
    clip = record("birzai-lake", ended_ago=timedelta(hours=30))
    clip_id = upload("birzai", clip)["clip_id"]
    operator = official("operator", "birzai")

    with retention_policy(official, "birzai", 1):
        sweep_at(archive, datetime.now(UTC))

    assert operator.get(f"/clips/{clip_id}").expect(200)["status"] == "expired"


def test_a_longer_policy_applies_only_to_footage_recorded_after_it(record, upload, official, archive):
    older = upload("aizkraukle", record("aizkraukle-station"))
    operator = official("operator", "aizkraukle")
    older_until = parse_time(operator.get(f"/clips/{older['clip_id']}").expect(200)["retain_until"])

    with retention_policy(official, "aizkraukle", 14, "two weeks while the festival runs"):
        newer = upload("aizkraukle", record("aizkraukle-station"))
        newer_record = operator.get(f"/clips/{newer['clip_id']}").expect(200)
        sweep_at(archive, older_until + timedelta(seconds=1))

    assert operator.get(f"/clips/{older['clip_id']}").expect(200)["status"] == "expired"
    assert parse_time(newer_record["retain_until"]) - parse_time(newer_record["start"]) == timedelta(days=14)


# --- legal holds ----------------------------------------------------------------------------------------------


@pytest.fixture
def case(official):
    investigator = official("investigator", "aizkraukle")
    opened = investigator.post(
        "/cases", {"site_id": "aizkraukle", "reference": "LV-2026-0457", "reason": "assault at the square"}
    ).expect(201)
    return opened["case_id"]


def test_held_clip_survives_sweep_erasure_and_direct_s3_delete(record, upload, official, archive, aws, case):
    clip = record("aizkraukle-square")
    clip_id = upload("aizkraukle", clip)["clip_id"]
    investigator = official("investigator", "aizkraukle")
    investigator.post(f"/cases/{case}/holds", {"clip_ids": [clip_id]}).expect(200)
    retain_until = parse_time(official("operator", "aizkraukle").get(f"/clips/{clip_id}").expect(200)["retain_until"])

    sweep_at(archive, retain_until + timedelta(days=1))
    erasure = official("dpo", "aizkraukle").post(f"/clips/{clip_id}/erasure", {"reason": "asked by the subject"})
    version = versions(aws, archive, clip_key(clip, "aizkraukle", clip_id))[0]["VersionId"]
    with pytest.raises(ClientError) as direct:
        aws.client("s3").delete_object(
            Bucket=archive.clips_bucket, Key=clip_key(clip, "aizkraukle", clip_id), VersionId=version
        )

    assert official("operator", "aizkraukle").get(f"/clips/{clip_id}").expect(200)["status"] == "indexed"
    assert erasure.status == 409
    assert direct.value.response["Error"]["Code"] == "AccessDenied"
    assert versions(aws, archive, clip_key(clip, "aizkraukle", clip_id))


def test_released_clip_past_its_retention_goes_at_the_next_sweep(record, upload, official, archive, aws, case):
    clip = record("aizkraukle-park")
    clip_id = upload("aizkraukle", clip)["clip_id"]
    investigator = official("investigator", "aizkraukle")
    investigator.post(f"/cases/{case}/holds", {"clip_ids": [clip_id]}).expect(200)
    retain_until = parse_time(official("operator", "aizkraukle").get(f"/clips/{clip_id}").expect(200)["retain_until"])
    sweep_at(archive, retain_until + timedelta(days=1))

    released = http(
        "DELETE",
        f"{archive.api_url}/cases/{case}/holds/{clip_id}",
        headers={"Authorization": f"Bearer {investigator.token}"},
    ).expect(200)
    sweep_at(archive, retain_until + timedelta(days=1))

    assert released["still_held_by"] == []
    assert official("operator", "aizkraukle").get(f"/clips/{clip_id}").expect(200)["status"] == "expired"
    assert not versions(aws, archive, clip_key(clip, "aizkraukle", clip_id))


def test_a_camera_window_is_held_and_closing_the_case_releases_it(record, upload, official, case):
    clips = [upload("aizkraukle", record("aizkraukle-station", ended_ago=timedelta(minutes=m))) for m in (40, 39)]
    investigator = official("investigator", "aizkraukle")
    window = {
        "camera_id": "aizkraukle-station",
        "start": (datetime.now(UTC) - timedelta(minutes=42)).isoformat(),
        "end": (datetime.now(UTC) - timedelta(minutes=38)).isoformat(),
    }

    held = investigator.post(f"/cases/{case}/holds", window).expect(200)["held"]
    official("dpo", "aizkraukle").post(f"/cases/{case}/close", {"reason": "proceedings ended"}).expect(200)

    assert {c["clip_id"] for c in clips} <= set(held)
    for clip in clips:
        assert official("operator", "aizkraukle").get(f"/clips/{clip['clip_id']}").expect(200)["holds"] == []
    assert investigator.post(f"/cases/{case}/holds", {"clip_ids": [clips[0]["clip_id"]]}).status == 409


def test_only_investigators_open_cases_and_only_on_their_sites(official):
    body = {"site_id": "aizkraukle", "reference": "X-1", "reason": "just looking"}
    assert official("operator", "aizkraukle").post("/cases", body).status == 403
    assert official("investigator", "birzai").post("/cases", body).status == 403


def test_a_hold_cannot_outlast_the_sites_maximum_without_review(official):
    body = {
        "site_id": "birzai",
        "reference": "LT-77",
        "reason": "burglary",
        "review_date": (datetime.now(UTC) + timedelta(days=4000)).isoformat(),
    }
    answer = official("investigator", "birzai").post("/cases", body)
    assert answer.status == 400
    assert "review" in answer.body["message"]


def test_cases_past_their_review_date_are_listed_for_the_dpo(official):
    review = datetime.now(UTC) + timedelta(seconds=2)
    opened = (
        official("investigator", "birzai")
        .post(
            "/cases",
            {"site_id": "birzai", "reference": "LT-99", "reason": "vandalism", "review_date": review.isoformat()},
        )
        .expect(201)
    )
    dpo = official("dpo", "birzai")

    deadline = time.monotonic() + 20
    listed: list[str] = []
    while time.monotonic() < deadline:
        listed = [
            c["case_id"] for c in dpo.get("/cases", {"site": "birzai", "state": "due_for_review"}).expect(200)["cases"]
        ]
        if opened["case_id"] in listed:
            break
        time.sleep(0.3)
    assert opened["case_id"] in listed


# --- erasure ----------------------------------------------------------------------------------------------


def test_erasure_leaves_a_tombstone_without_footage_or_urls(record, upload, official, archive, aws):
    clip = record("birzai-market")
    clip_id = upload("birzai", clip)["clip_id"]
    dpo = official("dpo", "birzai")

    tombstone = dpo.post(f"/clips/{clip_id}/erasure", {"reason": "Art. 17 request 2026-12"}).expect(200)

    assert tombstone["status"] == "erased"
    assert tombstone["erasure_reason"] == "Art. 17 request 2026-12"
    assert "thumbnails" not in tombstone
    assert not versions(aws, archive, clip_key(clip, "birzai", clip_id))
    assert not versions(aws, archive, f"thumbnails/birzai/birzai-market/{clip_id}/")
    record_ = official("operator", "birzai").get(f"/clips/{clip_id}").expect(200)
    assert record_["video"] is None
    assert "http" not in str(record_)
    assert official("operator", "birzai").post(f"/clips/{clip_id}/view", {"purpose": "too late now"}).status == 409


def test_only_the_dpo_erases(record, upload, official):
    clip_id = upload("birzai", record("birzai-market"))["clip_id"]
    assert official("investigator", "birzai").post(f"/clips/{clip_id}/erasure", {"reason": "tidy up"}).status == 403
    assert official("dpo", "aizkraukle").post(f"/clips/{clip_id}/erasure", {"reason": "tidy up"}).status == 404


# --- public notice ----------------------------------------------------------------------------------------


def test_public_notice_needs_no_login_and_shows_the_retention_in_force(archive, official):
    notice = http("GET", f"{archive.api_url}/public/sites/birzai/notice").expect(200)
    assert set(notice["languages"]) == {"en", "lt"}
    assert notice["retention_days"] == 7

    with retention_policy(official, "birzai", 3):
        changed = http("GET", f"{archive.api_url}/public/sites/birzai/notice").expect(200)

    assert changed["retention_days"] == 3
    assert "3" in changed["languages"]["lt"]["retention"]


def test_notice_of_an_unknown_site_is_a_404(archive):
    assert http("GET", f"{archive.api_url}/public/sites/atlantis/notice").status == 404
