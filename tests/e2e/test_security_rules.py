"""Every security rule, attacked over HTTP on the local stack; every refusal must land in the audit trail."""

from __future__ import annotations

import gzip
import json
import os
import time
import urllib.error
from datetime import timedelta
from pathlib import Path

import jwt
import moto
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.services.intake import MAX_BATCH
from gateway.uplink import Uplink, UplinkError, put_clip
from local.demo import DEMO_PASSWORD
from tests.e2e.audit_lab import an_interval_with_time_to_spare, counted, counter

pytestmark = pytest.mark.e2e


def audit_events(official, site: str) -> list[dict]:
    return official("auditor", site).get("/audit", {"site": site, "limit": 100}).expect(200)["events"]


def real_claims(api, username: str) -> dict:
    token = api.id_token(username, DEMO_PASSWORD)
    return jwt.decode(token, options={"verify_signature": False})


# --- officials' tokens ---------------------------------------------------------------------------------------


def test_no_token_is_refused_with_401(api):
    assert api.with_token(None).get("/sites").status == 401


def test_garbage_token_is_refused(api):
    assert api.with_token("garbage").get("/sites").status == 403


def test_token_signed_by_another_key_is_refused_and_counted_for_the_audit_trail(api, aws, archive):
    claims = real_claims(api, "operator-aizkraukle")
    claims["custom:sites"] = "aizkraukle,birzai"  # the forger's wish
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "dummy"})
    interval = an_interval_with_time_to_spare()
    without, refused = counter(aws, archive, interval)

    assert api.with_token(forged).get("/sites").status == 403
    # Counted under its source, and folded into the site-less trail (tests/e2e/test_anonymous_refusals.py).
    assert counted(aws, archive, interval, (without, refused + 1))


def test_expired_token_is_refused(api):
    claims = real_claims(api, "operator-aizkraukle")
    claims["iat"] = int(time.time()) - 7200
    claims["exp"] = int(time.time()) - 3600
    # Signed with moto's own Cognito key, so only the expiry is wrong.
    moto_keys = Path(moto.__file__).parent / "cognitoidp" / "resources" / "jwks-private.json.gz"
    private_jwk = json.loads(gzip.decompress(moto_keys.read_bytes()))
    expired = jwt.encode(claims, jwt.PyJWK(private_jwk).key, algorithm="RS256", headers={"kid": "dummy"})

    assert api.with_token(expired).get("/sites").status == 403


def test_access_token_is_not_accepted_as_an_id_token(api, aws, archive):
    result = aws.client("cognito-idp").initiate_auth(
        ClientId=archive.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "operator-aizkraukle", "PASSWORD": DEMO_PASSWORD},
    )
    access_token = result["AuthenticationResult"]["AccessToken"]

    assert api.with_token(access_token).get("/sites").status == 403


def test_gateway_token_opens_no_official_route(api, archive):
    assert api.with_token(archive.gateways["aizkraukle"]["token"]).get("/sites").status == 403


def test_official_token_opens_no_gateway_route(official, archive, record):
    clip = record("aizkraukle-square")
    answer = official("admin", "aizkraukle").post("/gateway/clips", {"camera_id": clip.camera_id})
    assert answer.status == 403


# --- gateways -------------------------------------------------------------------------------------------------


def test_birzai_gateway_cannot_register_an_aizkraukle_camera(gateway, record, official):
    clip = record("aizkraukle-square")

    with pytest.raises(UplinkError) as refused:
        gateway("birzai").register(clip.camera_id, clip.start, clip.end, clip.path)

    assert refused.value.status == 403
    event = audit_events(official, "birzai")[0]
    assert (event["action"], event["target"], event["outcome"]) == ("clip.register", "aizkraukle-square", "refused")


def test_birzai_gateway_cannot_register_an_aizkraukle_camera_in_a_batch(archive, record, official):
    from local.api_client import Session

    own, other = record("birzai-market"), record("aizkraukle-square")
    session = Session(archive.api_url, archive.gateways["birzai"]["token"])

    answer = session.post("/gateway/clips/batch", {"clips": [own.registration(), other.registration()]}).expect(200)

    assert [(item["status"], item["clip"] is None) for item in answer["clips"]] == [(201, False), (403, True)]
    event = audit_events(official, "birzai")[0]
    assert (event["action"], event["target"], event["outcome"]) == ("clip.register", "aizkraukle-square", "refused")


def test_revoked_gateway_is_refused_at_once(official, archive, record):
    admin = official("admin", "aizkraukle")
    created = admin.post(
        "/gateways", {"site_id": "aizkraukle", "name": "spare box", "camera_ids": ["aizkraukle-park"]}
    ).expect(201)
    uplink = Uplink(archive.api_url, created["token"])
    clip = record("aizkraukle-park")
    uplink.register(clip.camera_id, clip.start, clip.end, clip.path)

    admin.post(f"/gateways/{created['gateway_id']}/revocation").expect(200)

    with pytest.raises(UplinkError) as refused:
        uplink.register(clip.camera_id, clip.start, clip.end, clip.path)
    assert refused.value.status == 403


def test_gateway_secret_is_shown_once_and_never_listed(official):
    admin = official("admin", "birzai")
    created = admin.post(
        "/gateways", {"site_id": "birzai", "name": "listing probe", "camera_ids": ["birzai-lake"]}
    ).expect(201)

    listed = admin.get("/gateways").expect(200)["gateways"]

    mine = next(g for g in listed if g["gateway_id"] == created["gateway_id"])
    assert "token" not in mine
    assert "secret_sha256" not in mine
    assert created["token"].split(".", 1)[1] not in json.dumps(listed)


def test_gateway_cannot_read_another_sites_clip(gateway, upload, record):
    clip_id = upload("aizkraukle", record("aizkraukle-square"))["clip_id"]

    with pytest.raises(UplinkError) as refused:
        gateway("birzai").clip_state(clip_id)

    assert refused.value.status == 404


# --- site isolation and roles ----------------------------------------------------------------------------------


def test_operator_cannot_search_another_sites_camera(official):
    answer = official("operator", "aizkraukle").get("/cameras/birzai-castle/clips")

    assert answer.status == 404
    assert set(answer.body) == {"error", "message"}
    event = audit_events(official, "birzai")[0]
    assert (event["actor"], event["action"], event["outcome"]) == (
        "user:operator-aizkraukle",
        "clips.search",
        "refused",
    )


def test_operator_cannot_view_another_sites_clip(official, upload, record):
    clip_id = upload("birzai", record("birzai-castle"))["clip_id"]

    answer = official("operator", "aizkraukle").post(f"/clips/{clip_id}/view", {"purpose": "curiosity, nothing more"})

    assert answer.status == 404
    event = audit_events(official, "birzai")[0]
    assert (event["action"], event["target"], event["outcome"]) == ("clip.view", f"clip:{clip_id}", "refused")


def test_operator_cannot_list_another_sites_cameras(official):
    assert official("operator", "aizkraukle").get("/sites/birzai/cameras").status == 403


def test_admin_is_refused_footage_and_thumbnails(official, upload, record):
    clip_id = upload("aizkraukle", record("aizkraukle-station"))["clip_id"]
    admin = official("admin", "aizkraukle")

    assert admin.get("/cameras/aizkraukle-station/clips").status == 403
    assert admin.get(f"/clips/{clip_id}").status == 403
    assert admin.post(f"/clips/{clip_id}/view", {"purpose": "maintenance check"}).status == 403
    latest = audit_events(official, "aizkraukle")[:3]
    assert {(e["actor"], e["action"], e["outcome"]) for e in latest} == {
        ("user:admin-aizkraukle", action, "refused") for action in ("clips.search", "clip.read", "clip.view")
    }


def test_auditor_is_refused_footage(official, upload, record):
    clip_id = upload("birzai", record("birzai-market"))["clip_id"]

    assert official("auditor", "birzai").post(f"/clips/{clip_id}/view", {"purpose": "spot check"}).status == 403


def test_operator_cannot_read_the_audit_trail(official):
    assert official("operator", "aizkraukle").get("/audit", {"site": "aizkraukle"}).status == 403


def test_dpo_cannot_read_unattributed_events(official):
    assert official("dpo", "aizkraukle").get("/audit", {"site": "-"}).status == 403


def test_operator_cannot_create_gateways(official):
    answer = official("operator", "aizkraukle").post(
        "/gateways", {"site_id": "aizkraukle", "name": "rogue", "camera_ids": ["aizkraukle-park"]}
    )
    assert answer.status == 403


def test_admin_cannot_create_a_gateway_for_another_site(official):
    answer = official("admin", "aizkraukle").post(
        "/gateways", {"site_id": "birzai", "name": "rogue", "camera_ids": ["birzai-lake"]}
    )
    assert answer.status == 403


def test_sites_lists_only_the_callers_sites(official):
    sites = official("investigator", "birzai").get("/sites").expect(200)["sites"]
    assert [site["site_id"] for site in sites] == ["birzai"]


# --- bad clips are quarantined with their reason ----------------------------------------------------------------


def test_bytes_that_are_not_video_are_quarantined(upload, record, tmp_path, official):
    clip = record("aizkraukle-square")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(20_000))
    clip.path = junk

    state = upload("aizkraukle", clip)

    assert state["status"] == "quarantined"
    assert state["quarantine_reason"] == "not a video file"
    operator = official("operator", "aizkraukle")
    assert operator.post(f"/clips/{state['clip_id']}/view", {"purpose": "check the junk"}).status == 409
    listed = operator.get("/cameras/aizkraukle-square/clips", {"limit": 100}).expect(200)["clips"]
    assert state["clip_id"] not in [c["clip_id"] for c in listed]


def test_bytes_differing_from_the_registered_sha256_are_refused_by_s3(gateway, record, tmp_path):
    clip = record("birzai-lake")
    altered = tmp_path / "altered.mp4"
    data = bytearray(clip.path.read_bytes())
    data[-100] ^= 0xFF  # one flipped byte, same size: only the SHA-256 signed into the URL tells them apart
    altered.write_bytes(bytes(data))
    uplink = gateway("birzai")
    registered = uplink.register(clip.camera_id, clip.start, clip.end, clip.path)

    with pytest.raises(urllib.error.HTTPError) as refused:
        put_clip(registered["upload"], altered)

    assert refused.value.code == 400 and b"<Code>BadDigest</Code>" in refused.value.read()
    # Nothing stored: the gateway keeps its copy (ingest's own hash check, tests/unit/test_domain_ingest.py,
    # stands behind S3's for bytes that arrive another way).
    state = uplink.clip_state(registered["clip_id"])
    assert (state["status"], state["received"]) == ("registered", False)


def test_truncated_clip_is_quarantined(upload, record, tmp_path):
    clip = record("birzai-lake", seconds=4)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.path.read_bytes()[: clip.path.stat().st_size // 2])
    clip.path = cut

    state = upload("birzai", clip)

    assert state["status"] == "quarantined"
    assert state["quarantine_reason"].startswith(("truncated", "not a video"))


def test_clip_far_shorter_than_registered_is_quarantined(upload, record):
    clip = record("aizkraukle-park", seconds=2)
    clip.start = clip.start - timedelta(seconds=30)  # registered as 32 s, the video lasts 2 s

    state = upload("aizkraukle", clip)

    assert state["status"] == "quarantined"
    assert "duration" in state["quarantine_reason"]


# --- bad input gets a clear 4xx ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"sha256": "not-a-hash"}, "sha256"),
        ({"size": 0}, "size"),
        ({"size": 10 * 1024**3}, "at most"),
        # A terabyte "sealed" upload of a small clip: once 201 and 65,536 part URLs.
        ({"sealed": {"size": 10**12, "sha256": "a" * 64}}, "age file"),
        ({"end": "2001-01-01T00:00:00Z"}, "after start"),
        ({"start": "2020-01-01T00:00:00"}, "zone"),
        ({"camera_id": "Robert'); DROP TABLE"}, "camera_id"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_bad_registration_gets_a_400_that_says_why(archive, record, change, says):
    from local.api_client import Session

    clip = record("aizkraukle-square")
    session = Session(archive.api_url, archive.gateways["aizkraukle"]["token"])

    answer = session.post("/gateway/clips", clip.registration(**change))

    assert answer.status == 400
    assert answer.body["error"] == "invalid_request"
    assert says in answer.body["message"]


def test_a_batch_beyond_its_bound_gets_a_400_that_says_so(archive, record):
    from local.api_client import Session

    clip = record("aizkraukle-square")
    session = Session(archive.api_url, archive.gateways["aizkraukle"]["token"])

    answer = session.post("/gateway/clips/batch", {"clips": [clip.registration()] * (MAX_BATCH + 1)})

    assert (answer.status, answer.body["error"]) == (400, "invalid_request")
    assert f"at most {MAX_BATCH}" in answer.body["message"]


def test_clip_ending_in_the_future_is_refused(archive, record):
    from local.api_client import Session

    clip = record("aizkraukle-square")
    session = Session(archive.api_url, archive.gateways["aizkraukle"]["token"])
    later = timedelta(hours=2)

    answer = session.post(
        "/gateway/clips", clip.registration(start=(clip.start + later).isoformat(), end=(clip.end + later).isoformat())
    )

    assert answer.status == 400
    assert "future" in answer.body["message"]


def test_body_that_is_not_json_gets_a_400(archive):
    from local.api_client import http

    answer = http(
        "POST",
        f"{archive.api_url}/gateway/clips",
        headers={"Authorization": f"Bearer {archive.gateways['birzai']['token']}", "Content-Type": "application/json"},
    )
    assert answer.status in (400,)


def test_same_recording_registered_with_another_end_is_a_conflict(gateway, record):
    clip = record("birzai-market")
    uplink = gateway("birzai")
    uplink.register(clip.camera_id, clip.start, clip.end, clip.path)

    with pytest.raises(UplinkError) as conflict:
        uplink.register(clip.camera_id, clip.start, clip.end + timedelta(seconds=1), clip.path)

    assert conflict.value.status == 409


def test_forged_cursor_gets_a_400(official):
    answer = official("operator", "aizkraukle").get("/cameras/aizkraukle-square/clips", {"cursor": "eyJ4IjoxfQ=="})
    assert answer.status == 400


def test_uploaded_clip_is_put_exactly_as_signed(gateway, record):
    """The upload ticket signs encryption, length and checksum; a gateway must send exactly those headers."""
    clip = record("birzai-castle")
    registered = gateway("birzai").register(clip.camera_id, clip.start, clip.end, clip.path)

    signed = registered["upload"]["headers"]

    assert signed["x-amz-server-side-encryption"] == "aws:kms"
    assert signed["x-amz-server-side-encryption-aws-kms-key-id"].startswith("arn:aws:kms:eu-north-1:")
    assert signed["Content-Length"] == str(clip.path.stat().st_size)
    query = registered["upload"]["url"].split("X-Amz-SignedHeaders=", 1)[1].split("&", 1)[0]
    for header in ("content-length", "x-amz-checksum-sha256", "x-amz-server-side-encryption"):
        assert header in query
    assert put_clip(registered["upload"], clip.path) == 200
