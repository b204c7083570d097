"""Clips over 100 MB go in parts, and an upload broken off half way resumes without resending stored parts."""

from __future__ import annotations

import base64
import os
import struct
import urllib.parse
import urllib.request

import pytest

from gateway.agent.sealing import part_digests
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
    part_size = registered["part_size"]
    declared = {"part_sha256": part_digests(clip.path, part_size)}
    first = session.post(f"/gateway/clips/{registered['clip_id']}/multipart", declared).expect(200)
    assert first["part_size"] == part_size
    for ticket in first["parts"][:3]:  # the uplink breaks after three parts
        number = ticket["part_number"]
        put_part(ticket, data[(number - 1) * part_size : number * part_size])

    resumed = session.post(f"/gateway/clips/{registered['clip_id']}/multipart", declared).expect(200)
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


def test_each_part_url_carries_the_sha256_declared_for_it(archive, record):
    clip = record("aizkraukle-square", seconds=2)
    with clip.path.open("ab") as grown:
        grown.write(struct.pack(">I4s", PADDING + 8, b"free") + bytes(PADDING))
    session = Session(archive.api_url, archive.gateways["aizkraukle"]["token"])
    registered = session.post("/gateway/clips", clip.registration()).expect(201)
    digests = part_digests(clip.path, registered["part_size"])

    short = session.post(f"/gateway/clips/{registered['clip_id']}/multipart", {"part_sha256": digests[:-1]})
    plan = session.post(f"/gateway/clips/{registered['clip_id']}/multipart", {"part_sha256": digests}).expect(200)

    assert short.status == 400 and "a sha256 for each" in short.body["message"]
    for ticket, digest in zip(plan["parts"], digests, strict=True):
        signed = urllib.parse.parse_qs(urllib.parse.urlparse(ticket["url"]).query)["X-Amz-SignedHeaders"][0]
        assert "x-amz-checksum-sha256" in signed.split(";")  # real S3 refuses any other bytes for the part
        assert ticket["headers"]["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(digest)).decode()


def test_random_bytes_in_every_part_never_make_a_clip_received_and_the_gateway_sends_it_again(
    archive, record, gateway, official
):
    clip = record("birzai-lake", seconds=2)
    with clip.path.open("ab") as grown:
        grown.write(struct.pack(">I4s", PADDING + 8, b"free") + bytes(PADDING))
    data = clip.path.read_bytes()
    session = Session(archive.api_url, archive.gateways["birzai"]["token"])
    registered = session.post("/gateway/clips", clip.registration()).expect(201)
    clip_id, part_size = registered["clip_id"], registered["part_size"]
    declared = {"part_sha256": part_digests(clip.path, part_size)}
    plan = session.post(f"/gateway/clips/{clip_id}/multipart", declared).expect(200)
    # Someone with the part URLs sends bytes of the right length (moto, unlike S3, checks no part's SHA-256).
    for ticket in plan["parts"]:
        put_part(ticket, os.urandom(int(ticket["headers"]["Content-Length"])))
    session.post(f"/gateway/clips/{clip_id}/multipart/complete").expect(200)

    assert session.get(f"/gateway/clips/{clip_id}").expect(200)["received"] is False  # not on its size alone
    judged = wait_for_status(gateway("birzai"), clip_id, {"indexed", "quarantined"}, timeout_s=120)
    assert (judged["status"], judged["received"]) == ("quarantined", False)  # the gateway keeps its copy

    again = session.post("/gateway/clips", clip.registration()).expect(200)  # asked again: the upload is wanted
    assert (again["status"], again["multipart"]) == ("registered", True)
    plan = session.post(f"/gateway/clips/{clip_id}/multipart", declared).expect(200)
    assert plan["parts_stored"] == []
    for ticket in plan["parts"]:
        number = ticket["part_number"]
        put_part(ticket, data[(number - 1) * part_size : number * part_size])
    session.post(f"/gateway/clips/{clip_id}/multipart/complete").expect(200)

    state = wait_for_status(gateway("birzai"), clip_id, {"indexed", "quarantined"}, timeout_s=120)
    assert (state["status"], state["received"]) == ("indexed", True), state["quarantine_reason"]
    assert official("investigator", "birzai").get(f"/clips/{clip_id}").expect(200)["sha256"] == sha256_of(clip.path)
