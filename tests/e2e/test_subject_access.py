"""Right of access over HTTP: the request, its deadline, and an export that never shows other people: made only
from a redaction the dpo has reviewed (under scripts/run-tests the redaction function runs as its own image, as on
AWS)."""

from __future__ import annotations

import hashlib
import io
import json
import time
import urllib.request
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.e2e.conftest import sweep_at

pytestmark = pytest.mark.e2e

# Someone else, left of the requester: over the clip's frame counter and the left half of its moving box.
BOX = {"x": 0, "y": 0, "width": 160, "height": 160}


def open_request(official, clip, received: date | None = None) -> dict:
    body = {
        "site_id": "aizkraukle",
        "camera_ids": [clip.camera_id],
        "start": (clip.start - timedelta(minutes=1)).isoformat(),
        "end": (clip.end + timedelta(minutes=1)).isoformat(),
        "received": (received or datetime.now(UTC).date()).isoformat(),
        "description": "grey jacket, crossing from the fountain",
    }
    return official("dpo", "aizkraukle").post("/subject-requests", body).expect(201)


def wait_for_export(dpo, request_id: str, export_id: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = dpo.get(f"/subject-requests/{request_id}/exports/{export_id}").expect(200)
        if state["status"] != "pending":
            return state
        time.sleep(0.3)
    raise AssertionError(f"export {export_id} still pending after {timeout_s} s")


def reviewed_redaction(dpo, request_id: str, clip_id: str, end_s: float, timeout_s: float = 180) -> str:
    """Redact the clip's first `end_s` seconds and review it keeping every track: only the export's boxes mask."""
    started = dpo.post(
        f"/subject-requests/{request_id}/redactions", {"clip_id": clip_id, "start_s": 0.0, "end_s": end_s}
    ).expect(202)
    path = f"/subject-requests/{request_id}/redactions/{started['redaction_id']}"
    deadline = time.monotonic() + timeout_s
    while (found := dpo.get(path).expect(200))["status"] == "pending":
        assert time.monotonic() < deadline, f"redaction still pending after {timeout_s} s"
        time.sleep(0.5)
    assert found["status"] == "found", found.get("failure")
    keep = [track["track_id"] for track in found["tracks"]]
    dpo.request("PUT", f"{path}/review", {"audience": "subject", "keep": keep}).expect(200)
    return str(started["redaction_id"])


def frames(path: Path) -> list[Image.Image]:
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def detail(image: Image.Image) -> float:
    """Fine detail (what makes a face or a figure recognisable): what shrinking 8× and back loses."""
    width, height = image.size
    return mean_difference(image, image.resize((width // 8, height // 8)).resize((width, height)))


def test_request_lists_the_matching_footage_and_its_deadline(record, upload, official):
    clip = record("aizkraukle-square")
    clip_id = upload("aizkraukle", clip)["clip_id"]

    request = open_request(official, clip, received=date(2026, 1, 31))
    found = official("dpo", "aizkraukle").get(f"/subject-requests/{request['request_id']}").expect(200)

    assert request["deadline"] == "2026-02-28"  # one month, clamped to February's end
    assert clip_id in [c["clip_id"] for c in found["clips"]]
    assert found["overdue"] is True


def test_deadline_extends_once_by_two_months_only_while_it_runs(record, upload, official):
    clip = record("aizkraukle-park")
    upload("aizkraukle", clip)
    dpo = official("dpo", "aizkraukle")
    today = datetime.now(UTC).date()
    request = open_request(official, clip, received=today)
    late = open_request(official, clip, received=today - timedelta(days=40))

    extended = dpo.post(f"/subject-requests/{request['request_id']}/extension", {"reason": "forty cameras to check"})
    again = dpo.post(f"/subject-requests/{request['request_id']}/extension", {"reason": "still more to check"})
    too_late = dpo.post(f"/subject-requests/{late['request_id']}/extension", {"reason": "forgot about it"})

    assert extended.expect(200)["deadline"] > request["deadline"]
    assert again.status == 409
    assert too_late.status == 409


def test_overdue_requests_are_listed_for_the_dpo(record, upload, official):
    clip = record("aizkraukle-station")
    upload("aizkraukle", clip)
    late = open_request(official, clip, received=datetime.now(UTC).date() - timedelta(days=40))

    on_time = open_request(official, clip, received=datetime.now(UTC).date())
    dpo = official("dpo", "aizkraukle")

    overdue = dpo.get("/subject-requests", {"site": "aizkraukle", "state": "overdue"}).expect(200)["requests"]
    listed = dpo.get("/subject-requests", {"site": "aizkraukle"}).expect(200)["requests"]

    assert late["request_id"] in [r["request_id"] for r in overdue]
    assert on_time["request_id"] not in [r["request_id"] for r in overdue]
    ids = [r["request_id"] for r in listed]
    assert ids.index(late["request_id"]) < ids.index(on_time["request_id"])  # overdue ones first
    assert next(r for r in listed if r["request_id"] == late["request_id"])["overdue"] is True


def test_export_masks_other_people_and_carries_a_manifest_of_hashes(record, upload, official, tmp_path):
    clip = record("aizkraukle-square", seconds=3)
    clip_id = upload("aizkraukle", clip)["clip_id"]
    request = open_request(official, clip)
    dpo = official("dpo", "aizkraukle")
    asked = {"clip_id": clip_id, "stills_at_s": [1.0], "excerpt": {"start_s": 0.5, "end_s": 2.5}, "boxes": [BOX]}
    refused = dpo.post(f"/subject-requests/{request['request_id']}/exports", asked)
    assert refused.status == 409  # not before the dpo has reviewed a redaction of it
    redaction_id = reviewed_redaction(dpo, request["request_id"], clip_id, 3.0)

    queued = dpo.post(
        f"/subject-requests/{request['request_id']}/exports", asked | {"redaction_id": redaction_id}
    ).expect(202)
    ready = wait_for_export(dpo, request["request_id"], queued["export_id"])
    assert ready["status"] == "ready", ready.get("failure")
    with urllib.request.urlopen(ready["url"], timeout=30) as answer:  # noqa: S310 - the signed URL issued
        package = answer.read()

    assert hashlib.sha256(package).hexdigest() == ready["sha256"]
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
        (tmp_path / "excerpt.mp4").write_bytes(archive.read("excerpt.mp4"))
    assert manifest["source"] == manifest["source"] | {
        "clip_id": clip_id,
        "sha256": ready["manifest"]["source"]["sha256"],
    }
    assert manifest["made_for"] == "user:dpo-aizkraukle"

    exported, source = frames(tmp_path / "excerpt.mp4"), frames(clip.path)[5:25]  # 10 fps: 0.5 s to 2.5 s
    assert len(exported) == len(source) == 20
    box = (BOX["x"], BOX["y"], BOX["x"] + BOX["width"], BOX["y"] + BOX["height"])
    right_of_box = (BOX["x"] + BOX["width"] + 4, 0, 320, 240)
    for masked, original in zip(exported, source, strict=True):
        assert detail(masked.crop(box)) < 0.3 * detail(original.crop(box))  # nobody recognisable inside
        assert mean_difference(masked.crop(right_of_box), original.crop(right_of_box)) < 3  # the rest intact


def test_an_export_with_a_box_outside_the_picture_fails_with_its_reason(record, upload, official):
    clip = record("aizkraukle-park")
    clip_id = upload("aizkraukle", clip)["clip_id"]
    request = open_request(official, clip)
    dpo = official("dpo", "aizkraukle")
    redaction_id = reviewed_redaction(dpo, request["request_id"], clip_id, 2.0)

    queued = dpo.post(
        f"/subject-requests/{request['request_id']}/exports",
        {
            "clip_id": clip_id,
            "redaction_id": redaction_id,
            "stills_at_s": [0.5],
            "boxes": [{"x": 5000, "y": 5000, "width": 10, "height": 10}],
        },
    ).expect(202)
    failed = wait_for_export(dpo, request["request_id"], queued["export_id"])

    assert failed["status"] == "failed"
    assert "box" in failed["failure"]
    assert failed["url"] is None


def test_an_export_covers_only_footage_the_request_covers(record, upload, official):
    clip = record("aizkraukle-station")
    request = open_request(official, clip)
    other = upload("aizkraukle", record("aizkraukle-park"))["clip_id"]

    answer = official("dpo", "aizkraukle").post(
        f"/subject-requests/{request['request_id']}/exports", {"clip_id": other, "stills_at_s": [0.5]}
    )

    assert answer.status == 400


def test_exports_are_deleted_when_their_time_is_up(record, upload, official, archive, aws):
    clip = record("aizkraukle-square")
    clip_id = upload("aizkraukle", clip)["clip_id"]
    request = open_request(official, clip)
    dpo = official("dpo", "aizkraukle")
    redaction_id = reviewed_redaction(dpo, request["request_id"], clip_id, 2.0)
    queued = dpo.post(
        f"/subject-requests/{request['request_id']}/exports",
        {"clip_id": clip_id, "redaction_id": redaction_id, "stills_at_s": [0.5]},
    ).expect(202)
    ready = wait_for_export(dpo, request["request_id"], queued["export_id"])

    sweep_at(archive, datetime.fromisoformat(ready["expires_at"]) + timedelta(seconds=1))

    gone = dpo.get(f"/subject-requests/{request['request_id']}/exports/{queued['export_id']}").expect(200)
    assert gone["status"] == "deleted"
    assert gone["url"] is None
    prefix = f"exports/aizkraukle/{request['request_id']}/"
    assert not aws.client("s3").list_object_versions(Bucket=archive.clips_bucket, Prefix=prefix).get("Versions")


def test_only_the_sites_dpo_handles_subject_requests(record, official):
    clip = record("aizkraukle-square")
    body = {
        "site_id": "aizkraukle",
        "camera_ids": [clip.camera_id],
        "start": clip.start.isoformat(),
        "end": clip.end.isoformat(),
        "received": "2026-11-01",
        "description": "someone",
    }
    assert official("operator", "aizkraukle").post("/subject-requests", body).status == 403
    assert official("dpo", "birzai").post("/subject-requests", body).status == 403
