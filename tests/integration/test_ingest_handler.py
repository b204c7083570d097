"""The ingest handler as Lambda runs it (chalice's test client), against the deployed template on moto."""

from __future__ import annotations

import json
import os
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pyrage
import pytest
from chalice.test import Client
from pyrage import x25519

from app import app
from chalicelib import wiring
from chalicelib.domain.catalog import Camera, Gateway
from chalicelib.domain.clips import Clip, Registration, SealedFile, Stills
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.sealing_keys import SealingKeys
from gateway.clipmaker import make_clip
from gateway.uplink import sha256_of
from tests.integration.conftest import TEST_SITE

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def site(deployed):
    catalog = wiring.catalog()
    catalog.put_site(TEST_SITE)
    catalog.add_camera(Camera(camera_id="cam-1", site_id="aizkraukle", name="c", location="l", created_at=NOW))
    catalog.add_gateway(
        Gateway(
            gateway_id="gw-test",
            site_id="aizkraukle",
            name="g",
            camera_ids=("cam-1",),
            secret_sha256="0" * 64,
            created_at=NOW,
            created_by="test",
        )
    )
    return Principal(id="gateway:gw-test", role=Role.GATEWAY, sites=frozenset({"aizkraukle"}))


def registered_upload(gateway: Principal, path: Path, ended_ago_s: int = 10, seconds: float = 2.0) -> str:
    """Register `path` and store its bytes where the upload URL points; the clip id and the S3 event body."""
    end = NOW - timedelta(seconds=ended_ago_s)
    registration = Registration(
        camera_id="cam-1",
        start=end - timedelta(seconds=seconds),
        end=end,
        size=path.stat().st_size,
        sha256=sha256_of(path),
    )
    clip = wiring.intake().register(gateway, registration, NOW).clip
    settings = wiring.get_settings()
    boto3.client("s3").put_object(Bucket=settings.clips_bucket, Key=clip.object_key, Body=path.read_bytes())
    return clip.clip_id


def indexed_upload(gateway: Principal, path: Path, seconds: float = 2.0) -> Clip:
    """Register `path`, store its bytes and run ingest on them: the clip as indexed."""
    index = wiring.clip_index()
    registered = index.get(registered_upload(gateway, path, seconds=seconds))
    assert registered is not None
    invoke_ingest([s3_event(registered.object_key, wiring.get_settings().clips_bucket)])
    clip = index.get(registered.clip_id)
    assert clip is not None and clip.status == "indexed", clip
    return clip


def stored_site_identity() -> x25519.Identity:
    """A new age identity, stored as the test site's sealing key."""
    identity = x25519.Identity.generate()
    site_keys().store("aizkraukle", "01KEY1", str(identity))
    return identity


def s3_event(key: str, bucket: str) -> str:
    return json.dumps(
        {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]}
    )


def invoke_ingest(bodies: list[str]) -> dict:
    with Client(app) as client:
        event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="safe-society-ingest")
        return client.lambda_.invoke("ingest_clips", event).payload


def test_a_bad_message_fails_alone_while_the_rest_of_the_batch_is_indexed(site, tmp_path):
    clip_path = tmp_path / "clip.mp4"
    make_clip(clip_path, seconds=2, width=160, height=120, fps=10)
    clip_id = registered_upload(site, clip_path)
    key = wiring.clip_index().get(clip_id).object_key
    bucket = wiring.get_settings().clips_bucket

    result = invoke_ingest(
        [s3_event(key, bucket), "this is not an S3 event", s3_event("clips/x/y/unknown.mp4", bucket)]
    )

    assert len(result["batchItemFailures"]) == 1
    assert wiring.clip_index().get(clip_id).status == "indexed"


def test_s3_test_event_is_ignored(deployed):
    assert invoke_ingest([json.dumps({"Event": "s3:TestEvent"})]) == {"batchItemFailures": []}


def test_ingest_writes_thumbnails_made_from_the_video(site, tmp_path):
    clip_path = tmp_path / "clip.mp4"
    make_clip(clip_path, seconds=2, width=160, height=120, fps=10)
    clip_id = registered_upload(site, clip_path)
    clip = wiring.clip_index().get(clip_id)

    invoke_ingest([s3_event(clip.object_key, wiring.get_settings().clips_bucket)])

    indexed = wiring.clip_index().get(clip_id)
    # One object for all the stills (the poster first): one PUT a clip.
    assert versions_under(f"thumbnails/aizkraukle/cam-1/{clip_id}/") == list(indexed.thumbnail_versions)
    assert indexed.stills == Stills(count=1, width=160, height=120)  # 2 s with a single keyframe
    s3 = boto3.client("s3")
    stills = s3.get_object(Bucket=wiring.get_settings().clips_bucket, Key=indexed.thumbnail_keys[0])
    assert stills["Body"].read()[:3] == b"\xff\xd8\xff"
    assert stills["ServerSideEncryption"] == "aws:kms"
    camera = wiring.catalog().get_camera("cam-1")
    assert (camera.latest_poster_key, camera.latest_stills) == (indexed.thumbnail_keys[0], indexed.stills)


def test_a_crash_after_claiming_resumes_on_redelivery(site, tmp_path):
    clip_path = tmp_path / "clip.mp4"
    make_clip(clip_path, seconds=2, width=160, height=120, fps=10)
    clip_id = registered_upload(site, clip_path)
    index = wiring.clip_index()
    version = wiring.clip_objects().current_version(index.get(clip_id).object_key)
    index.claim_upload(index.get(clip_id), version)  # a worker claimed it, then died

    invoke_ingest([s3_event(index.get(clip_id).object_key, wiring.get_settings().clips_bucket)])

    assert index.get(clip_id).status == "indexed"


@pytest.mark.parametrize(
    ("codec", "layout"),
    [("h264", "moov_end"), ("h264", "faststart"), ("h264", "fragmented"), ("hevc", "fragmented"), ("hevc", "moov_end")],
)
def test_nvr_layouts_and_codecs_are_indexed(site, tmp_path, codec, layout):
    clip_path = tmp_path / f"{codec}-{layout}.mp4"
    make_clip(clip_path, seconds=2, width=160, height=120, fps=10, codec=codec, layout=layout)
    clip_id = registered_upload(site, clip_path)

    invoke_ingest([s3_event(wiring.clip_index().get(clip_id).object_key, wiring.get_settings().clips_bucket)])

    indexed = wiring.clip_index().get(clip_id)
    assert indexed.status == "indexed", indexed.quarantine_reason
    assert indexed.video.codec == codec


def test_a_gateway_may_delete_its_copy_once_s3_holds_the_registered_bytes_before_ingest(site, tmp_path):
    """A plain upload; sealed ones: tests/e2e/test_gateway_agent.py."""
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=320, height=240, fps=10)
    data = path.read_bytes()
    end = NOW - timedelta(seconds=30)
    registration = Registration(
        camera_id="cam-1", start=end - timedelta(seconds=2), end=end, size=len(data), sha256=sha256_of(path)
    )
    clip = wiring.intake().register(site, registration, NOW).clip
    s3, bucket = boto3.client("s3"), wiring.get_settings().clips_bucket

    def report() -> dict:
        return wiring.intake().gateway_report(site, clip.clip_id).model_dump(mode="json")

    assert report()["received"] is False  # nothing there yet
    assert wiring.intake().register(site, registration, NOW).upload is not None  # asked again: a fresh URL
    s3.put_object(Bucket=bucket, Key=clip.object_key, Body=data[:-1])
    assert report()["received"] is False  # cut short
    altered = data[:-1] + bytes([data[-1] ^ 1])
    s3.put_object(Bucket=bucket, Key=clip.object_key, Body=altered, ChecksumAlgorithm="SHA256")
    assert report()["received"] is False  # as long, but S3 reports the SHA-256 of other bytes
    s3.put_object(Bucket=bucket, Key=clip.object_key, Body=data, ChecksumAlgorithm="SHA256")
    assert report() | {"status": "registered", "received": True} == report()  # before ingest has judged it
    # Registered again (the answer to its PUT was lost): no new URL, nothing is sent twice.
    again = wiring.intake().register(site, registration, NOW)
    assert (again.created, again.received, again.upload) == (False, True, None)

    invoke_ingest([s3_event(clip.object_key, bucket)])
    assert report()["status"] == "indexed" and report()["received"] is True


def sealed_upload(
    gateway: Principal,
    path: Path,
    identity: x25519.Identity,
    tmp_path: Path,
    ended_ago_s: int,
    *,
    plain_first=False,
    inside: Path | None = None,
) -> Clip:
    """Register `path` sealed to `identity`'s public key (with `plain_first`, after registering it unsealed) and
    store the sealed bytes where its URL points; `inside`: the file sealed instead of `path`."""
    sealed = tmp_path / f"{path.name}.age"
    pyrage.encrypt_file(str(inside or path), str(sealed), [identity.to_public()])
    end = NOW - timedelta(seconds=ended_ago_s)
    registration = Registration(
        camera_id="cam-1",
        start=end - timedelta(seconds=2),
        end=end,
        size=path.stat().st_size,
        sha256=sha256_of(path),
        sealed=SealedFile(size=sealed.stat().st_size, sha256=sha256_of(sealed)),
    )
    if plain_first:
        wiring.intake().register(gateway, registration.model_copy(update={"sealed": None}), NOW)
    clip = wiring.intake().register(gateway, registration, NOW).clip
    boto3.client("s3").put_object(
        Bucket=wiring.get_settings().clips_bucket, Key=clip.upload_key, Body=sealed.read_bytes()
    )
    return clip


def clip_and_altered_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A clip, and a copy of it one bit apart, in the frames: still a video of the registered length."""
    path, altered = tmp_path / "clip.mp4", tmp_path / "altered.mp4"
    make_clip(path, seconds=2, width=320, height=240, fps=10)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    altered.write_bytes(bytes(data))
    return path, altered


def site_keys() -> SealingKeys:
    """The keys as the API makes them: its own client, so ingest's cached list is not told of a new key."""
    return SealingKeys(boto3.client("secretsmanager"), wiring.get_settings().sealing_keys_prefix)


def versions_under(prefix: str) -> list[str]:
    listed = boto3.client("s3").list_object_versions(Bucket=wiring.get_settings().clips_bucket, Prefix=prefix)
    return sorted(version["VersionId"] for version in listed.get("Versions", []))


def test_a_sealed_clip_is_opened_and_indexed_in_one_run_and_an_announcement_of_its_plaintext_redoes_nothing(
    site, tmp_path
):
    identity = stored_site_identity()
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=320, height=240, fps=10)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40)
    bucket = wiring.get_settings().clips_bucket

    invoke_ingest([s3_event(clip.upload_key, bucket)])

    indexed = wiring.clip_index().get(clip.clip_id)
    assert (indexed.status, indexed.received) == ("indexed", True)
    assert versions_under(clip.object_key) == [indexed.object_version]
    stored = boto3.client("s3").head_object(Bucket=bucket, Key=clip.object_key, VersionId=indexed.object_version)
    assert "-" not in stored["ETag"]  # one PUT below 100 MB, its SHA-256 checked by S3: not re-uploaded in parts
    assert versions_under(clip.upload_key) == []  # the sealed file is gone once its clip is indexed
    stills = versions_under(f"thumbnails/aizkraukle/cam-1/{clip.clip_id}/")
    # S3 announces nothing under opened/ (infra/template.yaml); were it to, the run finds nothing to do.
    assert clip.object_key.startswith("opened/")
    invoke_ingest([s3_event(clip.object_key, bucket)])
    assert wiring.clip_index().get(clip.clip_id) == indexed
    assert versions_under(f"thumbnails/aizkraukle/cam-1/{clip.clip_id}/") == stills
    assert versions_under(clip.object_key) == [indexed.object_version]


def test_a_sealed_clip_that_opens_to_no_video_is_quarantined_and_its_plaintext_not_kept(site, tmp_path):
    """Its plaintext is stored while the video is examined: a clip refused then leaves none behind."""
    identity = stored_site_identity()
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 64)  # what it registered, but no video
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40)

    invoke_ingest([s3_event(clip.upload_key, wiring.get_settings().clips_bucket)])

    quarantined = wiring.clip_index().get(clip.clip_id)
    assert quarantined.status == "quarantined" and quarantined.quarantine_reason
    assert versions_under(clip.object_key) == []
    assert len(versions_under(clip.upload_key)) == 1  # the sealed upload stays, quarantined


def test_a_sealed_clip_opening_to_other_bytes_of_the_registered_size_is_quarantined_and_not_stored(site, tmp_path):
    """Ingest does not hash such a plaintext itself: S3 refuses to store it under the registered SHA-256."""
    identity = stored_site_identity()
    path, altered = clip_and_altered_copy(tmp_path)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40, inside=altered)

    invoke_ingest([s3_event(clip.upload_key, wiring.get_settings().clips_bucket)])

    quarantined = wiring.clip_index().get(clip.clip_id)
    assert quarantined.status == "quarantined"
    assert quarantined.quarantine_reason == (
        f"opened clip: sha256 {sha256_of(altered)} differs from the registered {sha256_of(path)}"
    )
    assert quarantined.bytes_verified  # the sealed file is the one registered: the gateway's copy is as wrong
    assert versions_under(clip.object_key) == []


def test_a_sealed_upload_altered_after_sealing_is_quarantined_as_other_bytes_than_registered(site, tmp_path):
    """Opened as it streams, it fails to open part way: the reason is still what the sealed bytes are."""
    identity = stored_site_identity()
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=320, height=240, fps=10)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40)
    s3, bucket = boto3.client("s3"), wiring.get_settings().clips_bucket
    altered = bytearray(s3.get_object(Bucket=bucket, Key=clip.upload_key)["Body"].read())
    altered[len(altered) // 2] ^= 0x01
    s3.put_object(Bucket=bucket, Key=clip.upload_key, Body=bytes(altered))

    invoke_ingest([s3_event(clip.upload_key, bucket)])

    quarantined = wiring.clip_index().get(clip.clip_id)
    assert quarantined.status == "quarantined"
    assert quarantined.quarantine_reason.startswith(f"sealed file: {len(altered)} bytes with sha256 ")
    assert not quarantined.bytes_verified
    assert versions_under(clip.object_key) == []


def test_a_clip_sealed_to_a_key_the_site_never_had_is_quarantined_as_not_opening(site, tmp_path):
    site_keys().store("aizkraukle", "01KEY1", str(x25519.Identity.generate()))
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    clip = sealed_upload(site, path, x25519.Identity.generate(), tmp_path, ended_ago_s=40)

    invoke_ingest([s3_event(clip.upload_key, wiring.get_settings().clips_bucket)])

    quarantined = wiring.clip_index().get(clip.clip_id)
    assert (quarantined.status, quarantined.quarantine_reason) == (
        "quarantined",
        "the sealed file does not open with the site's key",
    )
    assert quarantined.bytes_verified and versions_under(clip.object_key) == []


@pytest.fixture
def stored_in_parts_above_1_kb(monkeypatch):
    """Clips over 1 kB count as large ones: ingest stores their plaintext in parts, whose whole S3 never hashes."""
    monkeypatch.setattr("chalicelib.handlers.ingest.SINGLE_PUT_BYTES", 1000)
    monkeypatch.setattr("chalicelib.store.objects.SINGLE_PUT_BYTES", 1000)


@pytest.mark.usefixtures("stored_in_parts_above_1_kb")
def test_a_large_sealed_clip_is_hashed_as_it_opens_and_stored_in_parts_when_it_is_the_registered_one(site, tmp_path):
    identity = stored_site_identity()
    path, altered = clip_and_altered_copy(tmp_path)
    wrong = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40, inside=altered)
    right = sealed_upload(site, path, identity, tmp_path, ended_ago_s=10)
    bucket = wiring.get_settings().clips_bucket

    invoke_ingest([s3_event(wrong.upload_key, bucket), s3_event(right.upload_key, bucket)])

    quarantined = wiring.clip_index().get(wrong.clip_id)
    assert quarantined.quarantine_reason == (
        f"opened clip: sha256 {sha256_of(altered)} differs from the registered {sha256_of(path)}"
    )
    assert versions_under(wrong.object_key) == []
    indexed = wiring.clip_index().get(right.clip_id)
    assert indexed.status == "indexed" and versions_under(indexed.object_key) == [indexed.object_version]
    stored = boto3.client("s3").get_object(Bucket=bucket, Key=indexed.object_key, VersionId=indexed.object_version)
    assert stored["Body"].read() == path.read_bytes()


def padded_clip(tmp_path: Path, megabytes: int) -> Path:
    """A real clip made larger by a `free` box of random bytes after it (MP4 readers skip it): one whose
    plaintext ingest stores in several parts of 8 MB."""
    path = tmp_path / "large.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    padding = os.urandom(megabytes << 20)
    with path.open("ab") as clip:
        clip.write(struct.pack(">I", len(padding) + 8) + b"free" + padding)
    return path


def multipart_uploads_under(prefix: str) -> list[str]:
    listed = boto3.client("s3").list_multipart_uploads(Bucket=wiring.get_settings().clips_bucket, Prefix=prefix)
    return [upload["UploadId"] for upload in listed.get("Uploads", [])]


@pytest.mark.usefixtures("stored_in_parts_above_1_kb")
def test_a_large_sealed_clips_plaintext_is_stored_in_parts_and_assembled_whole(site, tmp_path):
    identity = stored_site_identity()
    path = padded_clip(tmp_path, megabytes=20)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40)
    bucket = wiring.get_settings().clips_bucket

    invoke_ingest([s3_event(clip.upload_key, bucket)])

    indexed = wiring.clip_index().get(clip.clip_id)
    assert indexed.status == "indexed", indexed.quarantine_reason
    stored = boto3.client("s3").get_object(Bucket=bucket, Key=indexed.object_key, VersionId=indexed.object_version)
    assert stored["ETag"].strip('"').endswith("-3")  # 8 + 8 + the rest
    assert stored["Body"].read() == path.read_bytes()
    assert multipart_uploads_under(clip.object_key) == []


@pytest.mark.usefixtures("stored_in_parts_above_1_kb")
def test_a_large_sealed_clip_that_stops_opening_part_way_leaves_nothing_of_its_plaintext_stored(site, tmp_path):
    """A chunk near the end that fails authentication comes after most of the plaintext was opened: none of it
    may stay, in parts or whole."""
    identity = stored_site_identity()
    path = padded_clip(tmp_path, megabytes=40)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40)
    s3, bucket = boto3.client("s3"), wiring.get_settings().clips_bucket
    altered = bytearray(s3.get_object(Bucket=bucket, Key=clip.upload_key)["Body"].read())
    altered[-1000] ^= 0x01
    s3.put_object(Bucket=bucket, Key=clip.upload_key, Body=bytes(altered))

    invoke_ingest([s3_event(clip.upload_key, bucket)])

    quarantined = wiring.clip_index().get(clip.clip_id)
    assert quarantined.status == "quarantined"
    assert quarantined.quarantine_reason.startswith("sealed file: ")
    assert multipart_uploads_under(clip.object_key) == []
    assert versions_under(clip.object_key) == []


@pytest.mark.parametrize("erased_meanwhile", [False, True])
def test_a_run_that_crashed_storing_a_plaintext_in_parts_leaves_no_parts_once_redelivered(
    site, tmp_path, erased_meanwhile
):
    identity = stored_site_identity()
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=40)
    s3, bucket = boto3.client("s3"), wiring.get_settings().clips_bucket
    index = wiring.clip_index()
    index.claim_upload(index.get(clip.clip_id), wiring.clip_objects().current_version(clip.upload_key))
    # It died with the plaintext's first part sent: footage no object names, until S3's lifecycle drops it.
    left = s3.create_multipart_upload(Bucket=bucket, Key=clip.object_key, **kms(s3, bucket))["UploadId"]
    s3.upload_part(Bucket=bucket, Key=clip.object_key, UploadId=left, PartNumber=1, Body=path.read_bytes())
    if erased_meanwhile:
        index.mark_erased(index.get(clip.clip_id), "dpo:test", "Art. 17 request", NOW)

    invoke_ingest([s3_event(clip.upload_key, bucket)])

    assert index.get(clip.clip_id).status == ("erased" if erased_meanwhile else "indexed")
    assert multipart_uploads_under(clip.object_key) == []
    assert versions_under(clip.upload_key) == []  # opened and deleted, or discarded with the clip


def kms(s3, bucket: str) -> dict[str, str]:
    """The encryption the bucket's policy requires of every PUT."""
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    default = rule["ApplyServerSideEncryptionByDefault"]
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": default["KMSMasterKeyID"]}


def test_a_clip_registered_plain_then_sealed_keeps_its_plaintext_where_nothing_is_announced(site, tmp_path):
    identity = stored_site_identity()
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    clip = sealed_upload(site, path, identity, tmp_path, ended_ago_s=50, plain_first=True)

    invoke_ingest([s3_event(clip.upload_key, wiring.get_settings().clips_bucket)])

    indexed = wiring.clip_index().get(clip.clip_id)
    assert indexed.status == "indexed" and indexed.object_key.startswith("opened/")
    assert versions_under(indexed.object_key) == [indexed.object_version]


def test_a_clip_sealed_to_the_sites_new_key_opens_at_once_after_a_rotation(site, tmp_path):
    old, new = x25519.Identity.generate(), x25519.Identity.generate()
    site_keys().store("aizkraukle", "01KEY1", str(old))
    first, second = tmp_path / "first.mp4", tmp_path / "second.mp4"
    make_clip(first, seconds=2, width=160, height=120, fps=10, label="first")
    make_clip(second, seconds=2, width=160, height=120, fps=10, label="second")
    bucket = wiring.get_settings().clips_bucket
    before = sealed_upload(site, first, old, tmp_path, ended_ago_s=60)
    invoke_ingest([s3_event(before.upload_key, bucket)])  # the warm function now holds the old key

    site_keys().store("aizkraukle", "01KEY2", str(new))
    after = sealed_upload(site, second, new, tmp_path, ended_ago_s=20)
    invoke_ingest([s3_event(after.upload_key, bucket)])

    assert wiring.clip_index().get(before.clip_id).status == "indexed"
    assert wiring.clip_index().get(after.clip_id).status == "indexed"
