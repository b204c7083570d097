"""Disclosure to the police: requested with a case, approved by a second person, expiring, revocable,
every use audited (Directive 2016/680 Art. 25)."""

from __future__ import annotations

import hashlib
import io
import time
import urllib.request
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from local.api_client import http
from tests.e2e.conftest import sweep_at

pytestmark = pytest.mark.e2e


@pytest.fixture
def held_clip(record, upload, official):
    """An open Biržai case holding one uploaded clip: (case_id, clip)."""
    clip = record("birzai-castle")
    state = upload("birzai", clip)
    investigator = official("investigator", "birzai")
    case_id = investigator.post(
        "/cases", {"site_id": "birzai", "reference": "LT-2026-31", "reason": "robbery on the castle bridge"}
    ).expect(201)["case_id"]
    investigator.post(f"/cases/{case_id}/holds", {"clip_ids": [state["clip_id"]]}).expect(200)
    return case_id, clip, state["clip_id"]


def request_share(official, case_id: str, clip_id: str, lifetime: timedelta = timedelta(days=2)) -> dict:
    body = {
        "case_id": case_id,
        "clip_ids": [clip_id],
        "recipient": "Biržai district police, investigator J. Petraitis",
        "purpose": "evidence for pre-trial investigation LT-2026-31",
        "expires_at": (datetime.now(UTC) + lifetime).isoformat(),
    }
    return official("investigator", "birzai").post("/shares", body).expect(201)


def token_of(link: str) -> str:
    path, _, token = link.partition("#/s/")
    assert path == "console" and token, link
    return token


def use(archive, link: str):
    """What the recipient's page does: post the token from the link's fragment."""
    return http("POST", f"{archive.api_url}/share-manifest", {"token": token_of(link)})


def test_approved_share_serves_the_clips_with_their_hashes_and_logs_the_use(held_clip, official, archive):
    case_id, clip, clip_id = held_clip
    share = request_share(official, case_id, clip_id)

    approved = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)
    manifest = use(archive, approved["link"]).expect(200)

    assert [c["clip_id"] for c in manifest["clips"]] == [clip_id]
    with urllib.request.urlopen(manifest["clips"][0]["url"], timeout=30) as answer:  # noqa: S310
        body = answer.read()
    assert hashlib.sha256(body).hexdigest() == manifest["clips"][0]["sha256"]
    assert body == clip.path.read_bytes()
    events = official("auditor", "birzai").get("/audit", {"site": "birzai"}).expect(200)["events"]
    used = next(e for e in events if e["action"] == "share.use")
    assert used["actor"] == f"share:{share['share_id']}"
    assert used["case_id"] == "LT-2026-31"
    assert "Petraitis" in used["reason"]


def wait_until(read, done, what: str, timeout_s: float = 180):
    """Poll `read()` until `done(answer)`; the answer."""
    deadline = time.monotonic() + timeout_s
    while not done(answer := read()):
        assert time.monotonic() < deadline, f"{what} after {timeout_s} s: {answer}"
        time.sleep(0.5)
    return answer


def approved_redacted_share(held_clip, official, archive) -> tuple[dict, dict, int]:
    """A share of the held clip made redacted, reviewed for the police and approved, its masked export made:
    (the share, the recipient's manifest, the status of an approval asked for before the review)."""
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id)
    dpo = official("dpo", "birzai")
    started = dpo.post(
        f"/shares/{share['share_id']}/redactions",
        {"clip_id": clip_id, "start_s": 0.0, "end_s": 1.0, "stills_at_s": [0.5]},
    ).expect(202)
    path = f"/shares/{share['share_id']}/redactions/{started['redaction_id']}"

    early = dpo.post(f"/shares/{share['share_id']}/approval")
    found = wait_until(lambda: dpo.get(path).expect(200), lambda r: r["status"] != "pending", "redaction pending")
    assert found["status"] == "found", found.get("failure")
    dpo.request("PUT", f"{path}/review", {"audience": "police"}).expect(200)
    link = dpo.post(f"/shares/{share['share_id']}/approval").expect(200)["link"]
    manifest = wait_until(
        lambda: use(archive, link).expect(200), lambda m: m["excerpts"][0]["status"] != "pending", "export pending"
    )
    return share, manifest, early.status


def test_a_redacted_share_never_hands_its_recipient_the_original_clip(held_clip, official, archive):
    share, manifest, early = approved_redacted_share(held_clip, official, archive)

    assert early == 409  # not before its redaction is reviewed
    assert manifest["redacted"] and manifest["clips"] == []
    (excerpt,) = manifest["excerpts"]
    assert excerpt["status"] == "ready" and excerpt["audience"] == "police"
    original = held_clip[1].path.read_bytes()
    with urllib.request.urlopen(excerpt["url"], timeout=30) as answer:  # noqa: S310 (a signed URL of the stack)
        package = answer.read()
    assert hashlib.sha256(package).hexdigest() == excerpt["sha256"]
    with zipfile.ZipFile(io.BytesIO(package)) as archived:
        delivered = {name: archived.read(name) for name in archived.namelist()}
    assert set(delivered) == {"excerpt.mp4", "still-01.jpg", "manifest.json", "redaction-report.json"}
    # Neither the zip nor anything in it is, or contains, the clip as recorded.
    assert original not in package and all(original not in data for data in delivered.values())


def test_a_revoked_redacted_shares_export_goes_at_the_next_sweep_not_at_its_expiry(held_clip, official, archive, aws):
    share, _, _ = approved_redacted_share(held_clip, official, archive)
    s3, prefix = aws.client("s3"), f"exports/birzai/{share['share_id']}/"
    made = s3.list_object_versions(Bucket=archive.clips_bucket, Prefix=prefix).get("Versions", [])

    official("investigator", "birzai").post(f"/shares/{share['share_id']}/revocation").expect(200)
    sweep_at(archive, datetime.now(UTC) + timedelta(seconds=1))

    assert any(version["Key"].endswith(".zip") for version in made)  # the masked export, and the redaction's
    assert not s3.list_object_versions(Bucket=archive.clips_bucket, Prefix=prefix).get("Versions")


def test_the_requester_cannot_approve_their_own_share(held_clip, official):
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id)

    answer = official("investigator", "birzai").post(f"/shares/{share['share_id']}/approval")

    assert answer.status == 403


def test_a_revoked_share_is_refused_and_the_attempt_audited(held_clip, official, archive):
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id)
    link = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)["link"]

    official("investigator", "birzai").post(f"/shares/{share['share_id']}/revocation").expect(200)
    answer = use(archive, link)

    assert answer.status == 410
    assert answer.body["error"] == "share_unavailable"
    events = official("auditor", "birzai").get("/audit", {"site": "birzai"}).expect(200)["events"]
    refused = next(e for e in events if e["action"] == "share.use")
    assert refused["outcome"] == "refused"
    assert refused["target"] == f"share:{share['share_id']}"


def test_an_expired_share_is_refused(held_clip, official, archive):
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id, lifetime=timedelta(seconds=3))
    link = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)["link"]
    expires_at = datetime.fromisoformat(share["expires_at"])

    while datetime.now(UTC) <= expires_at:  # the share's own clock, not a guess at one
        time.sleep(0.2)
    answer = use(archive, link)

    assert answer.status == 410
    assert "expired" in answer.body["message"]


def test_a_share_may_last_at_most_seven_days(held_clip, official):
    case_id, _, clip_id = held_clip
    body = {
        "case_id": case_id,
        "clip_ids": [clip_id],
        "recipient": "prosecutor's office",
        "purpose": "indictment",
        "expires_at": (datetime.now(UTC) + timedelta(days=8)).isoformat(),
    }
    answer = official("investigator", "birzai").post("/shares", body)
    assert answer.status == 400
    assert "7 days" in answer.body["message"]


def test_only_clips_the_case_holds_can_be_shared(held_clip, official, record, upload):
    case_id, _, _ = held_clip
    loose = upload("birzai", record("birzai-market"))["clip_id"]
    body = {
        "case_id": case_id,
        "clip_ids": [loose],
        "recipient": "prosecutor's office",
        "purpose": "indictment",
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    assert official("investigator", "birzai").post("/shares", body).status == 400


def test_an_unknown_link_is_refused_and_audited_without_the_token(archive, official):
    assert use(archive, "console#/s/not-a-real-token-at-all").status == 410

    events = official("auditor", "birzai").get("/audit", {"site": "-"}).expect(200)["events"]
    refused = next(e for e in events if e["action"] == "share.use")
    assert refused["target"] == "share:unknown"
    assert "not-a-real-token" not in str(events)


def test_the_token_is_never_stored_or_shown_again(held_clip, official, archive, aws):
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id)
    link = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)["link"]
    token = token_of(link)

    shown = official("dpo", "birzai").get(f"/shares/{share['share_id']}").expect(200)
    stored = (
        aws.resource("dynamodb")
        .Table(archive.environment["SAFE_SHARES_TABLE"])
        .get_item(Key={"share_id": share["share_id"]})["Item"]
    )

    assert token not in str(shown)
    assert token not in str(stored)
    assert stored["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()


def test_closing_the_case_ends_its_shares_and_the_end_is_audited(held_clip, official, archive):
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id)
    link = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)["link"]
    assert use(archive, link).status == 200

    official("investigator", "birzai").post(f"/cases/{case_id}/close", {"reason": "proceedings ended"}).expect(200)

    assert use(archive, link).status == 410
    assert official("dpo", "birzai").get(f"/shares/{share['share_id']}").expect(200)["status"] == "revoked"
    events = official("auditor", "birzai").get("/audit", {"site": "birzai"}).expect(200)["events"]
    ended = next(e for e in events if e["action"] == "share.revoke" and e["target"] == f"share:{share['share_id']}")
    assert ended["reason"] == "its case was closed"


def test_a_share_serves_only_clips_its_case_still_holds(held_clip, official, archive):
    case_id, _, clip_id = held_clip
    share = request_share(official, case_id, clip_id)
    link = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)["link"]

    official("investigator", "birzai").request("DELETE", f"/cases/{case_id}/holds/{clip_id}").expect(200)

    assert use(archive, link).expect(200)["clips"] == []
    # Released, the clip can be erased: the share no longer keeps it alive.
    reason = {"reason": "the data subject objected; no longer needed"}
    official("dpo", "birzai").post(f"/clips/{clip_id}/erasure", reason).expect(200)


def test_the_dpo_lists_the_shares_awaiting_approval(held_clip, official):
    case_id, _, clip_id = held_clip
    waiting = request_share(official, case_id, clip_id)
    approved = request_share(official, case_id, clip_id)
    official("dpo", "birzai").post(f"/shares/{approved['share_id']}/approval").expect(200)

    queue = official("dpo", "birzai").get("/shares", {"site": "birzai", "status": "requested"}).expect(200)
    listed = [share["share_id"] for share in queue["shares"]]

    assert waiting["share_id"] in listed
    assert approved["share_id"] not in listed
    assert official("operator", "birzai").get("/shares", {"site": "birzai"}).status == 403
    assert official("dpo", "aizkraukle").get("/shares", {"site": "birzai"}).status == 403
