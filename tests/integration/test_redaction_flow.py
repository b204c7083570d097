"""Redaction from the clip to the zip, on moto: the redaction function finds the tracks of real faces crossing
the picture, an export is refused until the dpo has reviewed them, the review is audited, and the export
masks the other face in every frame while the requester, marked with one click, stays visible in every one;
reviewed again for the press, both are masked in every frame.

The detectors are slow on 2 cores: one small scene (320x240, 2 s at 10 fps, two faces of 56 and 64 px)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import boto3
import numpy as np
import pytest

from chalicelib import wiring
from chalicelib.domain.audit import AuditFilter, Outcome
from chalicelib.domain.clips import Clip
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.redaction import (
    Audience,
    NewRedaction,
    Redaction,
    RedactionStatus,
    RequesterMark,
    Review,
    TrackSummary,
)
from chalicelib.domain.subject_requests import (
    Excerpt,
    ExportRequest,
    ExportStatus,
    NewSubjectRequest,
    RequestStatus,
    SubjectRequest,
)
from chalicelib.errors import AccessRefused, Conflict
from redaction import handler
from tests.integration.test_ingest_handler import indexed_upload, site  # noqa: F401
from tests.redaction_scenes import MASKED_BELOW, Truth, detail_kept, faces_crossing

DPO = Principal(id="user:dpo", role=Role.DPO, sites=frozenset({"aizkraukle"}))
FPS, FRAMES = 10, 20


def luma(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), mode="r") as container:
        return [np.asarray(f.to_ndarray(format="gray"), dtype=np.float32) for f in container.decode(video=0)]


def sqs_event(body: str) -> dict:
    return {"Records": [{"messageId": "m-1", "receiptHandle": "r", "body": body, "eventSource": "aws:sqs"}]}


def received_message(queue_url: str) -> str:
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
    return str(message["Body"])


def audit_targets(outcome: Outcome) -> list[str]:
    now = datetime.now(UTC)
    only = AuditFilter(actor=DPO.id, outcome=outcome)
    events, _ = wiring.audit_log().events("aizkraukle", now - timedelta(hours=1), now, 500, None, only)
    return [e.target for e in events]


@pytest.fixture
def scene_clip(site, tmp_path):  # noqa: F811 (the ingest test's fixture)
    scene = faces_crossing(320, 240, FPS, FRAMES, sizes=(56, 64))
    path = tmp_path / "scene.mp4"
    truths = scene.write(path)
    return indexed_upload(site, path, seconds=FRAMES / FPS).clip_id, path, truths


def subject_request_covering(clip: Clip, now: datetime, description: str) -> SubjectRequest:
    """A subject request the DPO opens for the person `description` names, on the clip's camera and time."""
    return wiring.subject_access().open(
        DPO,
        NewSubjectRequest(
            site_id="aizkraukle",
            camera_ids=(clip.camera_id,),
            start=clip.start - timedelta(minutes=1),
            end=clip.end + timedelta(minutes=1),
            received=now.date(),
            description=description,
        ),
        now,
    )


def test_a_reviewed_redaction_masks_the_passer_by_in_every_frame_and_leaves_the_requester_visible(scene_clip):
    clip_id, source, truths = scene_clip
    clip = wiring.clip_index().get(clip_id)
    assert clip is not None
    now = datetime.now(UTC).replace(microsecond=0)
    request = subject_request_covering(clip, now, "the one in the upper row")
    redaction = wiring.redactions().start(
        DPO, request.request_id, NewRedaction(clip_id=clip_id, start_s=0.0, end_s=FRAMES / FPS), now
    )
    settings = wiring.get_settings()

    result = handler.find_tracks(sqs_event(received_message(settings.redactions_queue_url)), None)

    assert result == {"batchItemFailures": []}
    found = wiring.subject_request_book().get_redaction(request.request_id, redaction.redaction_id)
    assert found.status == RedactionStatus.FOUND
    assert {t.kind for t in found.tracks} >= {"face"}
    wanted = ExportRequest(
        clip_id=clip_id, redaction_id=redaction.redaction_id, excerpt=Excerpt(start_s=0.0, end_s=FRAMES / FPS)
    )
    with pytest.raises(Conflict, match="review its tracks first"):
        wiring.subject_access().export(DPO, request.request_id, wanted, now)
    with pytest.raises(Conflict, match="redact the excerpt"):
        wiring.subject_access().export(DPO, request.request_id, wanted.model_copy(update={"redaction_id": None}), now)
    assert len([t for t in audit_targets(Outcome.REFUSED) if "export of clip" in t]) == 2

    requester = next(t for t in truths[2] if t.object_id == "face-0")
    x, y, w, h = requester.box
    mark = RequesterMark(at_s=2 / FPS, x=x + w / 2, y=y + h / 2)
    reviewed = wiring.redactions().review(
        DPO, request.request_id, redaction.redaction_id, Review(audience=Audience.SUBJECT, requester=mark), now
    )

    assert reviewed.review.requester_tracks and reviewed.review.masked
    (decision,) = [t for t in audit_targets(Outcome.ALLOWED) if "reviewed for subject" in t]
    assert f"requester [{' '.join(reviewed.review.requester_tracks)}]" in decision
    assert f"masked {len(reviewed.review.masked)} [{' '.join(reviewed.review.masked)}]" in decision

    export = wiring.subject_access().export(DPO, request.request_id, wanted, now)
    wiring.export_maker().make(request.request_id, export.export_id, now)
    made = wiring.subject_request_book().get_export(request.request_id, export.export_id)
    assert made.status == ExportStatus.READY, made.failure
    package = boto3.client("s3").get_object(Bucket=settings.clips_bucket, Key=made.object_key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        excerpt = archive.read("excerpt.mp4")
        report = json.loads(archive.read("redaction-report.json"))
    assert report["reviewed_by"] == "user:dpo"
    assert {t["decision"] for t in report["tracks"]} >= {"masked", "requester"}
    judge_masks(luma(Path(source).read_bytes()), luma(excerpt), truths, visible="face-0")

    # The same footage for the press: reviewed again, everyone masked.
    wiring.redactions().review(DPO, request.request_id, redaction.redaction_id, Review(audience=Audience.PUBLIC), now)
    public = wiring.subject_access().export(DPO, request.request_id, wanted, now)
    wiring.export_maker().make(request.request_id, public.export_id, now)
    made = wiring.subject_request_book().get_export(request.request_id, public.export_id)
    package = boto3.client("s3").get_object(Bucket=settings.clips_bucket, Key=made.object_key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        judge_masks(luma(Path(source).read_bytes()), luma(archive.read("excerpt.mp4")), truths, visible=None)
    assert made.manifest["redacted_for"] == "public"


def judge_masks(
    source: list[np.ndarray], export: list[np.ndarray], truths: list[list[Truth]], visible: str | None
) -> None:
    assert len(export) == FRAMES
    for frame in range(FRAMES):
        for truth in truths[frame]:
            kept = detail_kept(source[frame], export[frame], truth)
            if truth.object_id == visible:
                assert kept >= MASKED_BELOW, f"the requester is masked in frame {frame} ({kept:.2f})"
            else:
                assert kept < MASKED_BELOW, f"{truth.object_id} is visible in frame {frame} ({kept:.2f})"


def test_another_sites_dpo_and_other_roles_neither_see_nor_review_a_redaction(deployed):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    book = wiring.subject_request_book()
    request = SubjectRequest(
        request_id="01JREQUEST0000000000000000",
        site="aizkraukle",
        camera_ids=("cam-1",),
        start=now - timedelta(hours=1),
        end=now,
        received=now.date(),
        deadline=now.date() + timedelta(days=30),
        description="blue scarf",
        status=RequestStatus.OPEN,
        created_by="user:dpo",
        created_at=now,
    )
    book.add(request)
    book.add_redaction(
        Redaction(
            redaction_id="01JREDACTION00000000000000",
            request_id=request.request_id,
            site="aizkraukle",
            clip_id="01JCLIP0000000000000000000",
            start_s=0.0,
            end_s=2.0,
            status=RedactionStatus.FOUND,
            requested_by="user:dpo",
            requested_at=now,
            tracks=(
                TrackSummary(track_id="face-1", kind="face", first_s=0, last_s=1, frames=10, detections=4, score=1),
            ),
        )
    )
    other_dpo = Principal(id="user:dpo-birzai", role=Role.DPO, sites=frozenset({"birzai"}))
    operator = Principal(id="user:operator", role=Role.OPERATOR, sites=frozenset({"aizkraukle"}))
    redactions = wiring.redactions()
    police = Review(audience=Audience.POLICE)

    for who in (other_dpo, operator):
        with pytest.raises(AccessRefused):
            redactions.view(who, request.request_id, "01JREDACTION00000000000000", now)
        with pytest.raises(AccessRefused):
            redactions.review(who, request.request_id, "01JREDACTION00000000000000", police, now)

    stored = book.get_redaction(request.request_id, "01JREDACTION00000000000000")
    assert stored.review is None
    shown = redactions.view(DPO, request.request_id, "01JREDACTION00000000000000", now)
    assert shown.tracks[0].thumbnails_url  # a signed link, for the site's own dpo, and audited:
    only = AuditFilter(actor=DPO.id, outcome=Outcome.ALLOWED)
    events, _ = wiring.audit_log().events("aizkraukle", now - timedelta(minutes=1), now, 50, None, only)
    assert [e.target for e in events] == [
        f"subject_request:{request.request_id} redaction 01JREDACTION00000000000000: 1 thumbnail strips shown"
    ]
