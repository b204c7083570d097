"""Redacted shares on moto: the dpo redacts a requested share's clip, reviews it for the police (kept tracks
visible) or the press (everyone masked), and only then may approve it; the approved link delivers the masked
export alone, never the clip. Every decision and refusal is audited."""

from __future__ import annotations

import io
import json
import urllib.parse
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from pydantic import ValidationError

from chalicelib import wiring
from chalicelib.domain.audit import AuditFilter, Outcome
from chalicelib.domain.cases import HoldRequest, NewCase
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.redaction import (
    Audience,
    NewShareRedaction,
    Owner,
    RedactionStatus,
    Review,
    TrackSummary,
)
from chalicelib.domain.shares import NewShare
from chalicelib.domain.subject_requests import ExportStatus
from chalicelib.errors import Conflict, InvalidRequest, NotFound
from chalicelib.policy import Action
from gateway.clipmaker import make_clip
from redaction import handler
from tests.integration.test_ingest_handler import indexed_upload, site  # noqa: F401
from tests.integration.test_redaction_flow import (  # noqa: F401 (scene_clip: a fixture)
    FPS,
    FRAMES,
    judge_masks,
    luma,
    received_message,
    scene_clip,
    sqs_event,
)

DPO = Principal(id="user:dpo", role=Role.DPO, sites=frozenset({"aizkraukle"}))
INVESTIGATOR = Principal(id="user:investigator", role=Role.INVESTIGATOR, sites=frozenset({"aizkraukle"}))
TRACKS = (
    TrackSummary(track_id="face-1", kind="face", first_s=0, last_s=1, frames=10, detections=4, score=1),
    TrackSummary(track_id="person-2", kind="person", first_s=0, last_s=2, frames=20, detections=8, score=1),
)


def requested_share(clip_id: str, now: datetime) -> str:
    """An investigator's share of a clip their open case holds: its id."""
    cases = wiring.cases()
    case = cases.open(
        INVESTIGATOR, NewCase(site_id="aizkraukle", reference="LV-7", reason="theft at the fountain"), now
    )
    cases.hold(INVESTIGATOR, case.case_id, HoldRequest(clip_ids=(clip_id,)), now)
    new = NewShare(
        case_id=case.case_id,
        clip_ids=(clip_id,),
        recipient="Aizkraukle district prosecutor",
        purpose="criminal proceedings LV-7",
        expires_at=now + timedelta(days=2),
    )
    return wiring.shares().request(INVESTIGATOR, new, now).share_id


def found_redaction(share_id: str, clip_id: str, now: datetime) -> str:
    """A redaction of the share as the redaction function leaves it (tracks found, not reviewed): its id."""
    redaction = wiring.shares().start_redaction(
        DPO, share_id, NewShareRedaction(clip_id=clip_id, start_s=0.0, end_s=2.0), now
    )
    wiring.subject_request_book().finish_redaction(
        redaction.model_copy(update={"status": RedactionStatus.FOUND, "found_at": now, "tracks": TRACKS})
    )
    return redaction.redaction_id


def audited(outcome: Outcome, action: Action) -> list[str]:
    now = datetime.now(UTC)
    only = AuditFilter(actor=DPO.id, outcome=outcome, action=action.value)
    events, _ = wiring.audit_log().events("aizkraukle", now - timedelta(hours=1), now, 500, None, only)
    return [event.target for event in events]


@pytest.fixture
def indexed_clip(site, tmp_path):  # noqa: F811 (the ingest test's fixture)
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    return indexed_upload(site, path).clip_id


def test_a_redacted_share_is_not_approved_before_its_review_and_the_refusal_is_audited(indexed_clip):
    now = datetime.now(UTC).replace(microsecond=0)
    share_id = requested_share(indexed_clip, now)
    redaction_id = found_redaction(share_id, indexed_clip, now)

    with pytest.raises(Conflict, match="review it before approving"):
        wiring.shares().approve(DPO, share_id, now)

    share = wiring.share_book().get(share_id)
    assert (share.status, share.redaction_id, share.token_sha256) == ("requested", redaction_id, None)
    (refusal,) = audited(Outcome.REFUSED, Action.APPROVE_SHARE)
    assert refusal.startswith(f"share:{share_id}: redaction {redaction_id} is found")


def test_the_share_review_decisions_are_audited_and_frozen_once_approved(indexed_clip):
    now = datetime.now(UTC).replace(microsecond=0)
    share_id = requested_share(indexed_clip, now)
    redaction_id = found_redaction(share_id, indexed_clip, now)
    shares = wiring.shares()

    reviewed = shares.review_redaction(
        DPO, share_id, redaction_id, Review(audience=Audience.POLICE, keep=("face-1",)), now
    )
    approved = shares.approve(DPO, share_id, now)

    assert reviewed.review.masked == ("person-2",)
    (decision,) = [t for t in audited(Outcome.ALLOWED, Action.REDACT_SHARE) if "reviewed" in t]
    assert decision == (
        f"share:{share_id} redaction {redaction_id} reviewed for police: masked 1 [person-2], kept [face-1], "
        "requester [], 0 manual boxes"
    )
    assert approved.export_id
    with pytest.raises(Conflict, match="can no longer change"):
        shares.review_redaction(DPO, share_id, redaction_id, Review(audience=Audience.PUBLIC), now)
    with pytest.raises(Conflict, match="can no longer change"):
        shares.start_redaction(DPO, share_id, NewShareRedaction(clip_id=indexed_clip, start_s=0, end_s=1), now)


def test_a_share_revoked_while_its_export_is_being_made_has_it_deleted_by_the_next_sweep(indexed_clip):
    now = datetime.now(UTC).replace(microsecond=0)
    share_id = requested_share(indexed_clip, now)
    redaction_id = found_redaction(share_id, indexed_clip, now)
    shares, book = wiring.shares(), wiring.subject_request_book()
    shares.review_redaction(DPO, share_id, redaction_id, Review(audience=Audience.POLICE), now)
    approved = shares.approve(DPO, share_id, now)
    being_made = book.get_export(share_id, approved.export_id)  # as the export function read it, before

    shares.revoke(INVESTIGATOR, share_id, now + timedelta(minutes=1))
    finished = being_made.model_copy(
        update={"status": ExportStatus.READY, "ready_at": now + timedelta(minutes=2), "object_key": "exports/x.zip"}
    )
    made = book.finish_export(finished)  # as the export function finishes what it read

    assert being_made.expires_at == approved.expires_at
    assert made.status == "ready" and made.expires_at == now + timedelta(minutes=1)  # not the share's expiry
    assert [export.export_id for export in book.exports_due("aizkraukle", now + timedelta(minutes=2))] == [
        approved.export_id
    ]


def test_a_share_has_no_requester_to_leave_visible_and_the_press_keeps_nobody(indexed_clip):
    now = datetime.now(UTC).replace(microsecond=0)
    share_id = requested_share(indexed_clip, now)
    redaction_id = found_redaction(share_id, indexed_clip, now)
    shares = wiring.shares()

    with pytest.raises(InvalidRequest, match="no requester"):
        shares.review_redaction(DPO, share_id, redaction_id, Review(audience=Audience.SUBJECT), now)
    with pytest.raises(ValidationError, match="masks everyone"):
        Review(audience=Audience.PUBLIC, keep=("face-1",))
    press = shares.review_redaction(DPO, share_id, redaction_id, Review(audience=Audience.PUBLIC), now)

    assert press.review.masked == ("face-1", "person-2")
    assert press.review.kept == () and press.review.requester_tracks == ()


def test_a_share_reaches_neither_another_owners_redaction_nor_a_clip_it_does_not_list(indexed_clip):
    now = datetime.now(UTC).replace(microsecond=0)
    share_id = requested_share(indexed_clip, now)
    other = requested_share(indexed_clip, now)
    redaction_id = found_redaction(other, indexed_clip, now)
    shares = wiring.shares()

    with pytest.raises(NotFound):  # the other share's redaction, under this share's id
        shares.redaction(DPO, share_id, redaction_id, now)
    with pytest.raises(NotFound):  # a share's redaction through the subject request routes
        wiring.redactions().view(DPO, other, redaction_id, now)
    with pytest.raises(InvalidRequest, match="not one of share"):
        shares.start_redaction(
            DPO, share_id, NewShareRedaction(clip_id="01JNOTSHARED0000000000000", start_s=0, end_s=1), now
        )
    stored = wiring.subject_request_book().get_redaction(other, redaction_id)
    assert (stored.owner, stored.request_id) == (Owner.SHARE, other)


def test_an_approved_press_share_delivers_the_masked_excerpt_alone_with_everyone_masked(scene_clip):  # noqa: F811
    clip_id, source, truths = scene_clip
    now = datetime.now(UTC).replace(microsecond=0)
    share_id = requested_share(clip_id, now)
    shares, settings = wiring.shares(), wiring.get_settings()
    started = shares.start_redaction(
        DPO, share_id, NewShareRedaction(clip_id=clip_id, start_s=0.0, end_s=FRAMES / FPS, stills_at_s=(0.5,)), now
    )
    assert handler.find_tracks(sqs_event(received_message(settings.redactions_queue_url)), None) == {
        "batchItemFailures": []
    }
    found = shares.redaction(DPO, share_id, started.redaction_id, now)
    assert found.status == RedactionStatus.FOUND and found.tracks
    # First for the police keeping one face, then, for the press, everyone masked: the last review is delivered.
    shares.review_redaction(
        DPO, share_id, started.redaction_id, Review(audience=Audience.POLICE, keep=(found.tracks[0].track_id,)), now
    )
    shares.review_redaction(DPO, share_id, started.redaction_id, Review(audience=Audience.PUBLIC), now)
    approved = shares.approve(DPO, share_id, now)
    token = approved.link.rpartition("/")[2]

    pending = shares.use(token, now)
    wiring.export_maker().make(share_id, approved.export_id, now)
    manifest = shares.use(token, now)

    assert pending.clips == [] and pending.excerpts[0].status == "pending" and pending.excerpts[0].url is None
    assert manifest.redacted and manifest.clips == []
    (excerpt,) = manifest.excerpts
    assert excerpt.status == "ready" and excerpt.audience == "public"
    made = wiring.subject_request_book().get_export(share_id, approved.export_id)
    signed = urllib.parse.unquote(excerpt.url)
    assert made.object_key in signed and wiring.clip_index().get(clip_id).object_key not in signed
    package = boto3.client("s3").get_object(Bucket=settings.clips_bucket, Key=made.object_key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = set(archive.namelist())
        video = archive.read("excerpt.mp4")
        inside = json.loads(archive.read("manifest.json"))
        report = json.loads(archive.read("redaction-report.json"))
    assert names == {"excerpt.mp4", "still-01.jpg", "manifest.json", "redaction-report.json"}
    assert (inside["share_id"], inside["redacted_for"], inside["source"]["clip_id"]) == (share_id, "public", clip_id)
    assert report["counts"]["kept"] == 0 and {t["decision"] for t in report["tracks"]} == {"masked"}
    judge_masks(luma(Path(source).read_bytes()), luma(video), truths, visible=None)
    assert made.expires_at == approved.expires_at  # deleted with the share, not kept as long as an Art. 15 export
