"""Clips sealed at the edge to the site's public key: ingest opens them with the site's private key,
checks the plaintext against the registration, stores it encrypted at rest, and removes the sealed file."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

import pyrage
import pytest
from pyrage import x25519

from gateway.uplink import Uplink, put_clip, sha256_of
from local.api_client import Session
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


def seal(plaintext, sealed_path, recipient: str) -> dict:
    pyrage.encrypt_file(str(plaintext), str(sealed_path), [x25519.Recipient.from_str(recipient)])
    return {"size": sealed_path.stat().st_size, "sha256": sha256_of(sealed_path)}


def register_sealed(archive, site: str, clip, sealed: dict) -> dict:
    session = Session(archive.api_url, archive.gateways[site]["token"])
    return session.post("/gateway/clips", clip.registration(sealed=sealed)).expect(201)


def test_a_sealed_clip_is_opened_indexed_and_viewable_as_plaintext(archive, record, gateway, official, aws, tmp_path):
    clip = record("birzai-lake")
    recipient = archive.gateways["birzai"]["site_recipient"]
    sealed_path = tmp_path / "clip.mp4.age"
    sealed = seal(clip.path, sealed_path, recipient)

    registered = register_sealed(archive, "birzai", clip, sealed)
    assert registered["upload"]["headers"]["Content-Length"] == str(sealed["size"])
    put_clip(registered["upload"], sealed_path)
    state = wait_for_status(gateway("birzai"), registered["clip_id"], {"indexed", "quarantined"})

    assert state["status"] == "indexed", state["quarantine_reason"]
    view = official("operator", "birzai").post(f"/clips/{state['clip_id']}/view", {"purpose": "sealed path check"})
    with urllib.request.urlopen(view.expect(200)["url"], timeout=30) as answer:  # noqa: S310
        assert answer.read() == clip.path.read_bytes()
    leftovers = aws.client("s3").list_object_versions(Bucket=archive.clips_bucket, Prefix="sealed/birzai/birzai-lake/")
    assert registered["clip_id"] not in str(leftovers.get("Versions", []))


def test_a_clip_sealed_to_another_key_is_quarantined(archive, record, gateway, tmp_path):
    clip = record("birzai-lake")
    stranger = str(x25519.Identity.generate().to_public())
    sealed_path = tmp_path / "clip.mp4.age"
    registered = register_sealed(archive, "birzai", clip, seal(clip.path, sealed_path, stranger))

    put_clip(registered["upload"], sealed_path)
    state = wait_for_status(gateway("birzai"), registered["clip_id"], {"indexed", "quarantined"})

    assert state["status"] == "quarantined"
    assert "does not open" in state["quarantine_reason"]
    assert state["received"] is True


def test_a_sealed_clip_whose_content_is_not_the_registered_one_is_quarantined(archive, record, gateway, tmp_path):
    clip = record("aizkraukle-park")
    other = record("aizkraukle-park")
    sealed_path = tmp_path / "other.mp4.age"
    # Sealed correctly to the site, but the plaintext inside is another recording than the one registered.
    sealed = seal(other.path, sealed_path, archive.gateways["aizkraukle"]["site_recipient"])
    registered = register_sealed(archive, "aizkraukle", clip, sealed)

    put_clip(registered["upload"], sealed_path)
    state = wait_for_status(gateway("aizkraukle"), registered["clip_id"], {"indexed", "quarantined"})

    assert state["status"] == "quarantined"
    assert "opened clip" in state["quarantine_reason"]


def test_the_gateway_holds_only_the_public_key(archive):
    recipient = archive.gateways["aizkraukle"]["site_recipient"]
    assert recipient.startswith("age1")
    assert "SECRET" not in str(archive.gateways)


def test_drops_are_recorded_as_gaps_officials_can_see(archive, official):
    session = Session(archive.api_url, archive.gateways["aizkraukle"]["token"])
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    drop = {
        "camera_id": "aizkraukle-station",
        "start": (end - timedelta(minutes=1)).isoformat(),
        "end": end.isoformat(),
        "reason": "quota",
    }

    assert session.post("/gateway/drops", {"drops": [drop, drop]}).status == 204  # a retried report: one gap
    gaps = (
        official("operator", "aizkraukle")
        .get(
            "/cameras/aizkraukle-station/gaps",
            {"from": (end - timedelta(hours=1)).isoformat(), "to": (end + timedelta(hours=1)).isoformat()},
        )
        .expect(200)["gaps"]
    )

    assert [(g["reason"], g["gateway_id"]) for g in gaps] == [("quota", archive.gateways["aizkraukle"]["gateway_id"])]


def test_a_gateway_cannot_report_drops_for_another_sites_camera(archive):
    session = Session(archive.api_url, archive.gateways["birzai"]["token"])
    end = datetime.now(UTC)
    drop = {
        "camera_id": "aizkraukle-square",
        "start": (end - timedelta(minutes=1)).isoformat(),
        "end": end.isoformat(),
        "reason": "too_old",
    }
    assert session.post("/gateway/drops", {"drops": [drop]}).status == 403


def test_cameras_without_recent_footage_are_shown_silent(official, archive, record, tmp_path):
    admin = official("admin", "birzai")
    for camera_id in ("birzai-quiet", "birzai-busy"):
        admin.post("/sites/birzai/cameras", {"camera_id": camera_id, "name": camera_id, "location": "test"}).expect(201)
    created = admin.post(
        "/gateways", {"site_id": "birzai", "name": "silence probe", "camera_ids": ["birzai-quiet", "birzai-busy"]}
    ).expect(201)
    uplink = Uplink(archive.api_url, created["token"])
    clip = record("birzai-busy")
    registered = uplink.register(clip.camera_id, clip.start, clip.end, clip.path)
    put_clip(registered["upload"], clip.path)
    wait_for_status(uplink, registered["clip_id"], {"indexed"})

    gateways = admin.get("/gateways").expect(200)["gateways"]

    probe = next(g for g in gateways if g["gateway_id"] == created["gateway_id"])
    assert probe["silent_cameras"] == ["birzai-quiet"]
