"""Gateway upload → ingest → index → audited signed view → retention expiry, on the real local stack."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from PIL import Image

from chalicelib.domain.timeutil import parse_time
from gateway.uplink import Uplink, put_clip
from local.api_client import http
from local.aws import wait_until_drained
from tests.e2e.conftest import sweep_at, wait_for_status

pytestmark = pytest.mark.e2e


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - a signed URL the API issued
        return bytes(answer.read())


def test_uploaded_clip_is_indexed_and_viewable_with_its_exact_bytes(record, upload, official):
    clip = record("aizkraukle-square", seconds=3)

    state = upload("aizkraukle", clip)
    assert state["status"] == "indexed"

    operator = official("operator", "aizkraukle")
    view = operator.post(f"/clips/{state['clip_id']}/view", {"purpose": "incident 2026-114 at the square"}).expect(200)
    body = download(view["url"])
    assert body == clip.path.read_bytes()
    assert hashlib.sha256(body).hexdigest() == view["sha256"] == state["sha256"]


def test_indexed_clip_carries_what_the_video_itself_says(record, upload, official):
    clip = record("aizkraukle-station", seconds=3)
    clip_id = upload("aizkraukle", clip)["clip_id"]

    record_ = official("investigator", "aizkraukle").get(f"/clips/{clip_id}").expect(200)

    assert record_["video"] == {"codec": "h264", "width": 320, "height": 240, "fps": 10.0, "duration_s": 3.0}
    assert "object_key" not in record_


def test_search_lists_clips_newest_first_with_short_lived_thumbnails(record, upload, official):
    older = upload("birzai", record("birzai-lake", ended_ago=timedelta(minutes=3)))
    newer = upload("birzai", record("birzai-lake", ended_ago=timedelta(minutes=1)))

    page = official("operator", "birzai").get("/cameras/birzai-lake/clips", {"limit": 100}).expect(200)

    ids = [clip["clip_id"] for clip in page["clips"]]
    assert ids.index(newer["clip_id"]) < ids.index(older["clip_id"])
    stills = page["clips"][ids.index(newer["clip_id"])]["stills"]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(stills["url"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    picture = Image.open(io.BytesIO(download(stills["url"])))  # a JPEG made from the video: its stills side by side
    assert (picture.format, picture.size) == ("JPEG", (stills["count"] * stills["width"], stills["height"]))


def test_search_pages_with_an_opaque_cursor(record, upload, official):
    for minutes in (7, 6, 5):
        upload("aizkraukle", record("aizkraukle-park", ended_ago=timedelta(minutes=minutes)))
    operator = official("operator", "aizkraukle")

    first = operator.get("/cameras/aizkraukle-park/clips", {"limit": 2}).expect(200)
    second = operator.get("/cameras/aizkraukle-park/clips", {"limit": 2, "cursor": first["cursor"]}).expect(200)

    assert len(first["clips"]) == 2
    assert first["cursor"]
    seen = {c["clip_id"] for c in first["clips"]}
    assert not seen & {c["clip_id"] for c in second["clips"]}


def test_view_url_lives_five_minutes_by_default_and_fifteen_at_most(record, upload, official):
    clip_id = upload("aizkraukle", record("aizkraukle-square"))["clip_id"]
    dpo = official("dpo", "aizkraukle")

    default = dpo.post(f"/clips/{clip_id}/view", {"purpose": "subject access request 7"}).expect(200)
    too_long = dpo.post(f"/clips/{clip_id}/view", {"purpose": "subject access request 7", "ttl_seconds": 3600})

    expires = urllib.parse.parse_qs(urllib.parse.urlparse(default["url"]).query)["X-Amz-Expires"]
    assert expires == ["300"]
    assert too_long.status == 400
    assert too_long.body["error"] == "invalid_request"


def test_view_without_a_purpose_is_refused(record, upload, official):
    clip_id = upload("aizkraukle", record("aizkraukle-square"))["clip_id"]

    answer = official("operator", "aizkraukle").post(f"/clips/{clip_id}/view", {})

    assert answer.status == 400
    assert "purpose" in answer.body["message"]


def open_case(official, site: str, reference: str) -> str:
    body = {"site_id": site, "reference": reference, "reason": "robbery reported at the castle"}
    return str(official("investigator", site).post("/cases", body).expect(201)["case_id"])


def test_views_and_searches_are_audited_with_their_purpose(record, upload, official):
    clip_id = upload("birzai", record("birzai-castle"))["clip_id"]
    case_id = open_case(official, "birzai", "LT-77")
    view_for_case = {"purpose": "case LT-77 robbery", "case_id": case_id}
    official("investigator", "birzai").post(f"/clips/{clip_id}/view", view_for_case).expect(200)

    events = official("auditor", "birzai").get("/audit", {"site": "birzai", "limit": 100}).expect(200)["events"]

    view = next(e for e in events if e["action"] == "clip.view" and e["target"] == f"clip:{clip_id}")
    assert view["actor"] == "user:investigator-birzai"
    assert view["role"] == "investigator"
    assert view["purpose"] == "case LT-77 robbery"
    assert view["case_id"] == case_id
    assert view["outcome"] == "allowed"


def test_registering_the_same_clip_twice_returns_the_same_clip(record, gateway):
    clip = record("birzai-market")
    uplink = gateway("birzai")

    first = uplink.register(clip.camera_id, clip.start, clip.end, clip.path)
    again = uplink.register(clip.camera_id, clip.start, clip.end, clip.path)

    assert again["clip_id"] == first["clip_id"]
    assert again["upload"]["url"]  # not uploaded yet, so it may still upload


def test_the_same_s3_event_three_times_gives_one_record(record, upload, archive, aws, official):
    clip = record("aizkraukle-station")
    state = upload("aizkraukle", clip)
    operator = official("operator", "aizkraukle")
    before = operator.get(f"/clips/{state['clip_id']}").expect(200)
    key = f"clips/aizkraukle/aizkraukle-station/{clip.start:%Y/%m/%d}/{state['clip_id']}.mp4"
    s3_object = {"bucket": {"name": archive.clips_bucket}, "object": {"key": key}}
    event = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": s3_object}]})
    sqs = aws.client("sqs")

    for _ in range(2):
        sqs.send_message(QueueUrl=archive.ingest_queue_url, MessageBody=event)
    wait_until_drained(sqs, archive.ingest_queue_url, timeout_s=30)

    after = operator.get(f"/clips/{state['clip_id']}").expect(200)
    assert after == before
    found = operator.get("/cameras/aizkraukle-station/clips", {"limit": 100}).expect(200)["clips"]
    assert [c["clip_id"] for c in found].count(state["clip_id"]) == 1


def test_expired_clip_is_gone_from_storage_and_index_after_the_sweep(record, upload, official, archive, aws):
    clip = record("birzai-castle")
    state = upload("birzai", clip)
    clip_id = state["clip_id"]
    operator = official("operator", "birzai")
    retain_until = parse_time(operator.get(f"/clips/{clip_id}").expect(200)["retain_until"])
    s3 = aws.client("s3")
    prefix_clip = f"clips/birzai/birzai-castle/{clip.start:%Y/%m/%d}/{clip_id}.mp4"
    assert s3.list_object_versions(Bucket=archive.clips_bucket, Prefix=prefix_clip).get("Versions")

    sweep_at(archive, retain_until + timedelta(seconds=1))

    assert not s3.list_object_versions(Bucket=archive.clips_bucket, Prefix=prefix_clip).get("Versions")
    thumbs = f"thumbnails/birzai/birzai-castle/{clip_id}/"
    assert not s3.list_object_versions(Bucket=archive.clips_bucket, Prefix=thumbs).get("Versions")
    tombstone = operator.get(f"/clips/{clip_id}").expect(200)
    assert tombstone["status"] == "expired"
    assert tombstone["video"] is None
    listed = operator.get(
        "/cameras/birzai-castle/clips",
        {"from": (clip.start - timedelta(seconds=1)).isoformat(), "to": (clip.end + timedelta(seconds=1)).isoformat()},
    ).expect(200)
    assert clip_id not in [c["clip_id"] for c in listed["clips"]]
    assert operator.post(f"/clips/{clip_id}/view", {"purpose": "too late now"}).status == 409


def test_a_clip_not_yet_due_survives_the_sweep(record, upload, official, archive):
    clip_id = upload("aizkraukle", record("aizkraukle-park"))["clip_id"]
    operator = official("operator", "aizkraukle")
    retain_until = parse_time(operator.get(f"/clips/{clip_id}").expect(200)["retain_until"])

    sweep_at(archive, retain_until - timedelta(seconds=1))

    assert operator.get(f"/clips/{clip_id}").expect(200)["status"] == "indexed"


def test_health_and_openapi_need_no_login(archive):
    assert http("GET", f"{archive.api_url}/health").expect(200) == {"status": "ok"}
    document = http("GET", f"{archive.api_url}/openapi.json").expect(200)
    assert "/gateway/clips" in document["paths"]


def test_gateway_waits_for_indexed_before_deleting_its_copy(record, gateway):
    clip = record("birzai-market")
    uplink = gateway("birzai")
    registered = uplink.register(clip.camera_id, clip.start, clip.end, clip.path)

    assert uplink.clip_state(registered["clip_id"])["status"] == "registered"

    put_clip(registered["upload"], clip.path)
    assert wait_for_status(uplink, registered["clip_id"], {"indexed"})["status"] == "indexed"


def test_heartbeat_marks_the_gateway_seen_and_the_camera_shows_its_last_clip(gateway, official, upload, record):
    clip = record("aizkraukle-park")
    upload("aizkraukle", clip)
    gateway("aizkraukle").heartbeat(
        {"version": "sim-1", "spool_clips": 3, "cameras": {"aizkraukle-park": {"restarts": 1}}}
    )

    gateways = official("admin", "aizkraukle").get("/gateways").expect(200)["gateways"]
    cameras = official("operator", "aizkraukle").get("/sites/aizkraukle/cameras").expect(200)["cameras"]

    beat = next(g for g in gateways if g["name"] == "aizkraukle gateway")
    assert beat["last_seen_at"]
    assert beat["last_heartbeat"]["spool_clips"] == 3
    park = next(c for c in cameras if c["camera_id"] == "aizkraukle-park")
    assert parse_time(park["last_clip_at"]) >= clip.end


def test_heartbeat_with_unknown_fields_gets_a_400(archive):
    answer = http(
        "POST",
        f"{archive.api_url}/gateway/heartbeat",
        {"spool_clips": -1},
        {"Authorization": f"Bearer {archive.gateways['birzai']['token']}"},
    )
    assert answer.status == 400


def test_an_investigator_views_only_for_an_open_case_of_the_clips_site(record, upload, official):
    clip_id = upload("birzai", record("birzai-castle"))["clip_id"]
    investigator = official("investigator", "birzai")
    other_site_case = open_case(official, "aizkraukle", "LV-12")
    closed = open_case(official, "birzai", "LT-78")
    investigator.post(f"/cases/{closed}/close", {"reason": "withdrawn"}).expect(200)

    for case_id in (None, "no-such-case", other_site_case, closed):
        answer = investigator.post(f"/clips/{clip_id}/view", {"purpose": "case LT-78 robbery", "case_id": case_id})
        assert answer.status == 400, case_id
        assert "case" in answer.body["message"]

    events = official("auditor", "birzai").get("/audit", {"site": "birzai", "limit": 100}).expect(200)["events"]
    refused = [
        e
        for e in events
        if (e["action"], e["target"], e["outcome"], e["actor"])
        == ("clip.view", f"clip:{clip_id}", "refused", "user:investigator-birzai")
    ]
    assert len(refused) == 4
    assert all("an open case of this site" in e["reason"] for e in refused)


def test_a_download_saves_the_file_and_is_audited_as_one(record, upload, official):
    clip = record("aizkraukle-square")
    clip_id = upload("aizkraukle", clip)["clip_id"]
    dpo = official("dpo", "aizkraukle")

    grant = dpo.post(f"/clips/{clip_id}/view", {"purpose": "subject access request 2026-7", "download": True})

    with urllib.request.urlopen(grant.expect(200)["url"], timeout=30) as answer:  # noqa: S310
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        assert answer.read() == clip.path.read_bytes()
    events = official("auditor", "aizkraukle").get("/audit", {"site": "aizkraukle"}).expect(200)["events"]
    assert any(e["action"] == "clip.download" and e["target"] == f"clip:{clip_id}" for e in events)


def test_an_operator_may_view_but_not_download(record, upload, official):
    clip_id = upload("aizkraukle", record("aizkraukle-square"))["clip_id"]

    answer = official("operator", "aizkraukle").post(
        f"/clips/{clip_id}/view", {"purpose": "checking the square camera", "download": True}
    )

    assert answer.status == 403


def test_the_wall_shows_each_cameras_latest_poster_and_forgets_an_erased_one(archive, record, official):
    # A camera of its own, with its own gateway: the session's other tests record on the demo cameras.
    admin = official("admin", "aizkraukle")
    camera = {"camera_id": "aizkraukle-wall-check", "name": "Wall check", "location": "test"}
    admin.post("/sites/aizkraukle/cameras", camera).expect(201)
    token = admin.post(
        "/gateways", {"site_id": "aizkraukle", "name": "wall check", "camera_ids": [camera["camera_id"]]}
    ).expect(201)["token"]
    uplink = Uplink(archive.api_url, token)

    def uploaded(ended_ago: timedelta) -> str:
        clip = record(camera["camera_id"], ended_ago=ended_ago)
        registered = uplink.register(clip.camera_id, clip.start, clip.end, clip.path)
        put_clip(registered["upload"], clip.path)
        assert wait_for_status(uplink, registered["clip_id"], {"indexed"})
        return str(registered["clip_id"])

    older, newest = uploaded(timedelta(minutes=2)), uploaded(timedelta(seconds=1))
    operator = official("operator", "aizkraukle")

    wall = operator.get("/sites/aizkraukle/wall").expect(200)
    tile = next(c for c in wall["cameras"] if c["camera_id"] == camera["camera_id"])
    assert tile["latest_clip_id"] == newest != older
    assert tile["state"] == "recording"
    assert download(tile["poster"]["url"])[:3] == b"\xff\xd8\xff"
    assert "latest_poster_key" not in tile
    site_cameras = {c["camera_id"] for c in admin.get("/sites/aizkraukle/cameras").expect(200)["cameras"]}
    assert {c["camera_id"] for c in wall["cameras"]} == site_cameras  # the site's cameras, no other site's

    erased = official("dpo", "aizkraukle").post(f"/clips/{newest}/erasure", {"reason": "erasure requested (Art. 17)"})
    assert erased.expect(200)["status"] == "erased"
    again = operator.get("/sites/aizkraukle/wall").expect(200)
    tile = next(c for c in again["cameras"] if c["camera_id"] == camera["camera_id"])
    assert (tile["latest_clip_id"], tile["poster"]) == (None, None)


def test_the_wall_is_footage_admins_and_other_sites_are_refused(official):
    assert official("admin", "aizkraukle").get("/sites/aizkraukle/wall").status == 403
    assert official("operator", "birzai").get("/sites/aizkraukle/wall").status == 403
