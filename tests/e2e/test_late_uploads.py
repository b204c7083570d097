"""Footage never outlives its erasure or expiry: an upload URL kept from before cannot bring it back, a clip
that expires before its bytes come leaves nothing behind, and upload URLs live only as long as an upload needs."""

from __future__ import annotations

import struct
import time
import urllib.parse
from collections.abc import Callable
from datetime import timedelta

import pytest

from chalicelib.domain.timeutil import parse_time
from gateway.agent.sealing import part_digests
from gateway.uplink import put_clip
from local.api_client import Session
from tests.e2e.conftest import sweep_at
from tests.e2e.test_multipart import put_part

pytestmark = pytest.mark.e2e


def versions(aws, archive, key: str) -> list[str]:
    listed = aws.client("s3").list_object_versions(Bucket=archive.clips_bucket, Prefix=key)
    return [v["VersionId"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]


def discards(official, site: str, clip_id: str) -> list[dict]:
    events = official("auditor", site).get("/audit", {"site": site, "limit": 100}).expect(200)["events"]
    return [e for e in events if (e["action"], e["target"]) == ("clip.discard_upload", f"clip:{clip_id}")]


def wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


def expires_in(url: str) -> int:
    return int(urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["X-Amz-Expires"][0])


def test_an_upload_with_a_url_kept_from_before_the_erasure_is_deleted_and_audited(
    archive, aws, record, gateway, official
):
    clip = record("aizkraukle-square")
    registered = gateway("aizkraukle").register(clip.camera_id, clip.start, clip.end, clip.path)
    official("dpo", "aizkraukle").post(
        f"/clips/{registered['clip_id']}/erasure", {"reason": "asked by the person filmed"}
    ).expect(200)

    put_clip(registered["upload"], clip.path)  # the URL kept from before the erasure

    wait_for(lambda: discards(official, "aizkraukle", registered["clip_id"]), "the late upload discarded")
    key = f"clips/aizkraukle/aizkraukle-square/{clip.start:%Y/%m/%d}/{registered['clip_id']}.mp4"
    assert versions(aws, archive, key) == []
    (event,) = discards(official, "aizkraukle", registered["clip_id"])
    assert (event["outcome"], event["actor"]) == ("refused", "system:ingest")
    assert "erased" in event["reason"]


def test_an_upload_for_a_clip_that_expired_while_awaiting_its_bytes_is_deleted(archive, aws, record, gateway, official):
    clip = record("birzai-lake")
    registered = gateway("birzai").register(clip.camera_id, clip.start, clip.end, clip.path)
    record_ = official("operator", "birzai").get(f"/clips/{registered['clip_id']}").expect(200)
    # A long backlog at the gateway: the clip's retention ends before its bytes come.
    sweep_at(archive, parse_time(record_["retain_until"]) + timedelta(seconds=1))
    assert official("operator", "birzai").get(f"/clips/{registered['clip_id']}").expect(200)["status"] == "expired"

    put_clip(registered["upload"], clip.path)

    wait_for(lambda: discards(official, "birzai", registered["clip_id"]), "the late upload discarded")
    key = f"clips/birzai/birzai-lake/{clip.start:%Y/%m/%d}/{registered['clip_id']}.mp4"
    assert versions(aws, archive, key) == []
    assert "expired" in discards(official, "birzai", registered["clip_id"])[0]["reason"]


def test_the_sweep_aborts_the_multipart_upload_of_a_clip_whose_retention_ends_before_its_bytes_come(
    archive, aws, record, official
):
    clip = record("aizkraukle-park")
    with clip.path.open("ab") as grown:  # past 100 MB: an upload in parts
        grown.write(struct.pack(">I4s", 110_000_008, b"free") + bytes(110_000_000))
    session = Session(archive.api_url, archive.gateways["aizkraukle"]["token"])
    registered = session.post("/gateway/clips", clip.registration()).expect(201)
    declared = {"part_sha256": part_digests(clip.path, registered["part_size"])}
    plan = session.post(f"/gateway/clips/{registered['clip_id']}/multipart", declared).expect(200)
    with clip.path.open("rb") as data:
        put_part(plan["parts"][0], data.read(plan["part_size"]))
    key = f"clips/aizkraukle/aizkraukle-park/{clip.start:%Y/%m/%d}/{registered['clip_id']}.mp4"
    s3 = aws.client("s3")
    assert s3.list_multipart_uploads(Bucket=archive.clips_bucket, Prefix=key).get("Uploads")
    retain_until = official("operator", "aizkraukle").get(f"/clips/{registered['clip_id']}").expect(200)["retain_until"]

    sweep_at(archive, parse_time(retain_until) + timedelta(seconds=1))

    assert not s3.list_multipart_uploads(Bucket=archive.clips_bucket, Prefix=key).get("Uploads")
    assert official("operator", "aizkraukle").get(f"/clips/{registered['clip_id']}").expect(200)["status"] == "expired"
    # Its part URLs lived only as long as the parts before each take on a slow uplink, 15 minutes at most.
    lifetimes = [expires_in(ticket["url"]) for ticket in plan["parts"]]
    assert lifetimes[0] == 120 and lifetimes == sorted(lifetimes) and lifetimes[-1] == 900


def test_an_upload_url_lives_two_minutes(archive, record, gateway):
    clip = record("birzai-market")
    registered = gateway("birzai").register(clip.camera_id, clip.start, clip.end, clip.path)
    assert expires_in(registered["upload"]["url"]) == 120
