"""No secret in any log the local stack writes: share tokens, gateway tokens, passwords and URL signatures are
driven through every process (API, moto, worker), then every log file is searched for them."""

from __future__ import annotations

import secrets
import stat
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.uplink import put_clip
from local.api_client import http
from local.demo import DEMO_PASSWORD
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


def signatures(url: str) -> list[str]:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return query.get("X-Amz-Signature", []) + query.get("Signature", [])


def wait_for_log(path: Path, text: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{path.name} never logged {text!r}"
        time.sleep(0.2)


def test_no_log_of_the_stack_holds_a_token_password_or_url_signature(archive, official, gateway, record):
    # A gateway registers and PUTs a clip to its presigned URL (moto logs the PUT).
    clip = record("birzai-castle")
    registered = gateway("birzai").register(clip.camera_id, clip.start, clip.end, clip.path)
    put_clip(registered["upload"], clip.path)
    signed = signatures(registered["upload"]["url"])
    # The worker ingests it; an official lists it (thumbnail URLs) and views it (a signed GET, fetched).
    clip_id = registered["clip_id"]
    assert wait_for_status(gateway("birzai"), clip_id, {"indexed"})
    operator = official("operator", "birzai")
    window = {"from": (clip.start - timedelta(minutes=1)).isoformat(), "to": datetime.now(UTC).isoformat()}
    listed = operator.get("/cameras/birzai-castle/clips", window).expect(200)["clips"]
    thumbnail = next(c for c in listed if c["clip_id"] == clip_id)["stills"]["url"]
    view = operator.post(f"/clips/{clip_id}/view", {"purpose": "checking the logs of the local stack"}).expect(200)
    for url in (thumbnail, view["url"]):
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - the archive's signed URLs
            answer.read()
        signed += signatures(url)
    # A share is approved and its recipient opens the link; someone guesses another link.
    investigator = official("investigator", "birzai")
    case_id = investigator.post(
        "/cases", {"site_id": "birzai", "reference": "LT-2026-77", "reason": "bicycle theft at the castle"}
    ).expect(201)["case_id"]
    investigator.post(f"/cases/{case_id}/holds", {"clip_ids": [clip_id]}).expect(200)
    share = investigator.post(
        "/shares",
        {
            "case_id": case_id,
            "clip_ids": [clip_id],
            "recipient": "Biržai district police",
            "purpose": "evidence for pre-trial investigation LT-2026-77",
            "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
    ).expect(201)
    link = official("dpo", "birzai").post(f"/shares/{share['share_id']}/approval").expect(200)["link"]
    share_token = link.rsplit("/s/", 1)[1]  # `<api>/console#/s/<token>`
    http("POST", f"{archive.api_url}/share-manifest", {"token": share_token}).expect(200)
    # A recipient or a scraper still sending tokens in URL paths, as the first API had it.
    guessed = secrets.token_urlsafe(32)
    http("GET", f"{archive.api_url}/s/{share_token}")
    http("GET", f"{archive.api_url}/s/{guessed}")
    # A gateway token with a wrong secret.
    wrong_token = archive.gateways["birzai"]["gateway_id"] + "." + secrets.token_urlsafe(32)
    http("POST", f"{archive.api_url}/gateway/heartbeat", {}, {"Authorization": f"Bearer {wrong_token}"})

    logs = {name: Path(path) for name, path in archive.logs.items()}
    access_log = logs["api"].with_name("api-access.jsonl")
    wait_for_log(access_log, '"httpMethod":"GET","resourcePath":"-","status":"404"')  # the requests are logged …
    wait_for_log(logs["moto"], "X-Amz-Signature=")
    tokens = [g["token"] for g in archive.gateways.values()]
    forbidden = {
        "share token": [share_token, guessed],
        "gateway token or secret": [*tokens, *(t.split(".", 1)[1] for t in tokens), wrong_token.split(".", 1)[1]],
        "password": [DEMO_PASSWORD],
        "URL signature": signed,
    }
    assert signed and len(share_token) >= 20
    every_log = sorted(path for pattern in ("*.log", "*.jsonl") for path in logs["api"].parent.glob(pattern))
    assert {path.name for path in every_log} >= {"moto.log", "api.log", "api-access.jsonl", "jobs.log"}
    for path in every_log:
        text = path.read_text(errors="replace")
        for kind, values in forbidden.items():
            leaked = [value for value in values if value in text]
            assert not leaked, f"{path.name} holds a {kind}"  # … without their secrets
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
