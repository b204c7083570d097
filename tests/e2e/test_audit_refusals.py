"""Every refusal is on the record: a held clip's erasure, a view without purpose or with one that forges text, a
heartbeat naming another site's camera; a request naming a site that does not exist starts no audit chain for it."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.audit_chain import SEGMENTS
from gateway.uplink import UplinkError

pytestmark = pytest.mark.e2e


def refusals(official, site: str, action: str, target: str) -> list[dict]:
    events = official("auditor", site).get("/audit", {"site": site, "limit": 100}).expect(200)["events"]
    return [e for e in events if (e["action"], e["target"], e["outcome"]) == (action, target, "refused")]


def test_erasing_a_held_clip_is_refused_on_the_record(record, upload, official):
    clip_id = upload("aizkraukle", record("aizkraukle-square"))["clip_id"]
    investigator = official("investigator", "aizkraukle")
    case = investigator.post(
        "/cases", {"site_id": "aizkraukle", "reference": "LV-2026-0999", "reason": "vandalism at the square"}
    ).expect(201)["case_id"]
    investigator.post(f"/cases/{case}/holds", {"clip_ids": [clip_id]}).expect(200)

    answer = official("dpo", "aizkraukle").post(f"/clips/{clip_id}/erasure", {"reason": "asked by the subject"})

    assert answer.status == 409
    (refused,) = refusals(official, "aizkraukle", "clip.erase", f"clip:{clip_id}")
    assert refused["actor"] == "user:dpo-aizkraukle"
    assert case in refused["reason"]


def test_a_view_without_a_purpose_is_refused_on_the_record(record, upload, official):
    clip_id = upload("birzai", record("birzai-castle"))["clip_id"]

    answer = official("operator", "birzai").post(f"/clips/{clip_id}/view", {})

    assert answer.status == 400
    (refused,) = refusals(official, "birzai", "clip.view", f"clip:{clip_id}")
    assert refused["actor"] == "user:operator-birzai"
    assert "purpose" in refused["reason"]


def test_a_request_naming_a_site_that_does_not_exist_starts_no_chain_for_it(official, table):
    answer = official("operator", "aizkraukle").get("/sites/1e100/cameras")

    partitions = [
        table.query(
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "chain"},
            ExpressionAttributeValues={":c": f"1e100/{segment}"},
        )["Count"]
        for segment in range(SEGMENTS)
    ]
    assert answer.status == 403
    assert sum(partitions) == 0
    events = official("auditor", "aizkraukle").get("/audit", {"site": "-", "limit": 100}).expect(200)["events"]
    logged = [e for e in events if e["target"].endswith("(no site '1e100')")]
    assert [e["actor"] for e in logged] == ["user:operator-aizkraukle"]


def test_a_purpose_with_a_bidirectional_override_is_refused_on_the_record(record, upload, official):
    clip_id = upload("aizkraukle", record("aizkraukle-park"))["clip_id"]

    # Shown right-to-left after the override, "incident 2026-7" would read as a different case on screen.
    answer = official("operator", "aizkraukle").post(f"/clips/{clip_id}/view", {"purpose": "incident \u202e7-6202"})

    assert answer.status == 400
    assert "U+202E" in answer.body["message"]
    (refused,) = refusals(official, "aizkraukle", "clip.view", f"clip:{clip_id}")
    assert "\u202e" not in json.dumps(refused, ensure_ascii=False)


def test_a_purpose_of_a_lone_zero_width_space_is_refused(record, upload, official):
    clip_id = upload("aizkraukle", record("aizkraukle-square"))["clip_id"]

    answer = official("operator", "aizkraukle").post(f"/clips/{clip_id}/view", {"purpose": "\u200b" * 5})

    assert answer.status == 400
    assert "must say something" in answer.body["message"]
    (refused,) = refusals(official, "aizkraukle", "clip.view", f"clip:{clip_id}")
    assert "must say something" in refused["reason"]


def test_a_heartbeat_naming_another_sites_camera_is_refused_on_the_record(gateway, official):
    birzai_gateway = gateway("birzai")
    honest = {"cameras": {"birzai-castle": {"restarts": 0}}}
    birzai_gateway.heartbeat(honest)

    with pytest.raises(UplinkError) as refused_beat:
        # A box of Biržai reporting Aizkraukle's square as recording would hide that it went silent.
        birzai_gateway.heartbeat({"cameras": {"birzai-castle": {}, "aizkraukle-square": {"restarts": 0}}})

    assert refused_beat.value.status == 403
    (refused,) = refusals(official, "birzai", "gateway.heartbeat", "aizkraukle-square")
    assert refused["actor"].startswith("gateway:gw-birzai-")
    gateways = official("admin", "birzai").get("/gateways").expect(200)["gateways"]
    assert all("aizkraukle-square" not in (g["last_heartbeat"] or {}).get("cameras", {}) for g in gateways)
