"""Footage is handed over only as the bytes its gateway registered: the redaction job and the export maker hash
what they read against the clip's registered SHA-256, and refuse footage altered at rest (here: someone with
write access to the bucket and the index stores other bytes as a new version and points the clip at it)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.redaction import Audience, NewRedaction, RedactionStatus, Review
from chalicelib.domain.subject_requests import Excerpt, ExportRequest, ExportStatus
from gateway.clipmaker import make_clip
from redaction import handler
from tests.integration.test_ingest_handler import indexed_upload, site  # noqa: F401
from tests.integration.test_redaction_flow import received_message, sqs_event, subject_request_covering

DPO = Principal(id="user:dpo", role=Role.DPO, sites=frozenset({"aizkraukle"}))
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def subject_clip(site, tmp_path):  # noqa: F811 (the ingest test's fixture)
    """An indexed 2 s clip and a subject request that covers it: (clip id, request id)."""
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    clip = indexed_upload(site, path)
    return clip.clip_id, subject_request_covering(clip, NOW, "the one by the fountain").request_id


def alter_footage(clip_id: str) -> None:
    """Store the clip's bytes one bit apart as a new version and point its record at that version."""
    s3, settings = boto3.client("s3"), wiring.get_settings()
    clip = wiring.clip_index().get(clip_id)
    assert clip is not None
    data = bytearray(s3.get_object(Bucket=settings.clips_bucket, Key=clip.object_key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    altered = s3.put_object(Bucket=settings.clips_bucket, Key=clip.object_key, Body=bytes(data))["VersionId"]
    boto3.resource("dynamodb").Table(settings.clips_table).update_item(
        Key={"clip_id": clip_id},
        UpdateExpression="SET object_version = :altered",
        ExpressionAttributeValues={":altered": altered},
    )


def find_tracks(request_id: str, clip_id: str) -> str:
    """Start a redaction of the whole clip and run the redaction function on it: the redaction's id."""
    redaction = wiring.redactions().start(DPO, request_id, NewRedaction(clip_id=clip_id, start_s=0.0, end_s=2.0), NOW)
    result = handler.find_tracks(sqs_event(received_message(wiring.get_settings().redactions_queue_url)), None)
    assert result == {"batchItemFailures": []}
    return redaction.redaction_id


def test_the_redaction_job_refuses_footage_that_is_not_the_registered_clip(subject_clip):
    clip_id, request_id = subject_clip
    alter_footage(clip_id)

    redaction_id = find_tracks(request_id, clip_id)

    failed = wiring.subject_request_book().get_redaction(request_id, redaction_id)
    assert failed.status == RedactionStatus.FAILED
    assert failed.failure.startswith("the stored footage is not the clip registered: sha256 ")


def test_an_export_of_footage_altered_after_its_review_fails_and_stores_no_package(subject_clip):
    clip_id, request_id = subject_clip
    redaction_id = find_tracks(request_id, clip_id)
    wiring.redactions().review(DPO, request_id, redaction_id, Review(audience=Audience.PUBLIC), NOW)
    wanted = ExportRequest(clip_id=clip_id, redaction_id=redaction_id, excerpt=Excerpt(start_s=0.0, end_s=2.0))
    alter_footage(clip_id)

    export = wiring.subject_access().export(DPO, request_id, wanted, NOW)
    wiring.export_maker().make(request_id, export.export_id, NOW)

    made = wiring.subject_request_book().get_export(request_id, export.export_id)
    assert made.status == ExportStatus.FAILED
    assert made.failure.startswith("the stored footage is not the clip registered: sha256 ")
    listed = boto3.client("s3").list_objects_v2(Bucket=wiring.get_settings().clips_bucket, Prefix="exports/")
    assert made.object_key is None
    assert [o["Key"] for o in listed.get("Contents", []) if export.export_id in o["Key"]] == []
