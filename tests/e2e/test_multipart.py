"""Clips over 100 MB go in parts, and an upload broken off half way resumes without resending stored parts."""

from __future__ import annotations

import struct
import urllib.request

import pytest

from gateway.uplink import sha256_of
from local.api_client import Session
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e
PADDING = 110_000_000


def put_part(ticket: dict, data: bytes) -> None:
    request = urllib.request.Request(ticket["url"], data=data, method="PUT", headers=ticket["headers"])  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - the signed part URL
        assert answer.status == 200


def test_a_large_clip_uploads_in_parts_and_resumes_after_a_break(archive, record, gateway, official, tmp_path):
    clip = record("birzai-castle", seconds=2)
    # A real recording grown past 100 MB with an ISO-BMFF `free` box: still a valid MP4.
    with clip.path.open("ab") as grown:
        grown.write(struct.pack(">I4s", PADDING + 8, b"free"))
        grown.write(bytes(PADDING))
    data = clip.path.read_bytes()
    session = Session(archive.api_url, archive.gateways["birzai"]["token"])

    registered = session.post("/gateway/clips", clip.registration()).expect(201)
    assert registered["upload"] is None
    assert registered["multipart"] is True
    first = session.post(f"/gateway/clips/{registered['clip_id']}/multipart").expect(200)
    part_size = first["part_size"]
    for ticket in first["parts"][:3]:  # the uplink breaks after three parts
        number = ticket["part_number"]
        put_part(ticket, data[(number - 1) * part_size : number * part_size])

    resumed = session.post(f"/gateway/clips/{registered['clip_id']}/multipart").expect(200)
    assert resumed["upload_id"] == first["upload_id"]
    assert resumed["parts_stored"] == [1, 2, 3]
    assert [t["part_number"] for t in resumed["parts"]] == list(range(4, first["parts_total"] + 1))
    assert session.post(f"/gateway/clips/{registered['clip_id']}/multipart/complete").status == 409  # not all there
    for ticket in resumed["parts"]:
        number = ticket["part_number"]
        put_part(ticket, data[(number - 1) * part_size : number * part_size])
    session.post(f"/gateway/clips/{registered['clip_id']}/multipart/complete").expect(200)
    state = wait_for_status(gateway("birzai"), registered["clip_id"], {"indexed", "quarantined"}, timeout_s=120)

    assert state["status"] == "indexed", state["quarantine_reason"]
    assert state["sha256"] == sha256_of(clip.path)
    record_ = official("investigator", "birzai").get(f"/clips/{registered['clip_id']}").expect(200)
    assert record_["size"] == len(data) > 100_000_000
