"""A legal hold against the retention sweep on moto: the S3 lock is set first, so a sweep deleting the clip's
footage either meets the lock (and keeps the clip) or has already deleted it (and the hold is refused): a case
never holds a clip whose footage is gone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.cases import HoldRequest, NewCase
from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import Conflict
from chalicelib.handlers.retention import RetentionSweep
from chalicelib.store.objects import ClipObjects
from chalicelib.store.queues import WorkQueue
from gateway.clipmaker import make_clip
from tests.integration.test_ingest_handler import NOW, invoke_ingest, registered_upload, s3_event, site  # noqa: F401

INVESTIGATOR = Principal(id="user:investigator", role=Role.INVESTIGATOR, sites=frozenset({"aizkraukle"}))


def test_a_clip_whose_footage_a_sweep_deleted_before_marking_it_cannot_be_held(site, tmp_path):  # noqa: F811
    path = tmp_path / "clip.mp4"
    make_clip(path, seconds=2, width=160, height=120, fps=10)
    clip_id = registered_upload(site, path)
    bucket = wiring.get_settings().clips_bucket
    invoke_ingest([s3_event(wiring.clip_index().get(clip_id).object_key, bucket)])
    clip = wiring.clip_index().get(clip_id)
    # A sweep that found it due deletes exactly the versions it recorded, then marks it: caught in between.
    s3 = boto3.client("s3")
    for stored in clip.stored_versions():
        s3.delete_object(Bucket=bucket, Key=stored.key, VersionId=stored.version_id)
    cases = wiring.cases()
    case = cases.open(INVESTIGATOR, NewCase(site_id="aizkraukle", reference="LV-9", reason="a theft"), NOW)

    with pytest.raises(Conflict, match="no footage left"):
        cases.hold(INVESTIGATOR, case.case_id, HoldRequest(clip_ids=(clip_id,)), NOW)

    assert not wiring.clip_index().get(clip_id).holds
    assert wiring.clip_index().mark_expired(clip, NOW) is not None  # the sweep finishes its work


def test_a_sweep_deletes_a_pages_footage_in_one_request_and_keeps_a_clip_a_hold_locked_meanwhile(site, tmp_path):  # noqa: F811
    settings, index = wiring.get_settings(), wiring.clip_index()
    clips = []
    for ago in (10, 20, 30):
        path = tmp_path / f"clip-{ago}.mp4"
        make_clip(path, seconds=2, width=160, height=120, fps=10)
        clip_id = registered_upload(site, path, ended_ago_s=ago)
        invoke_ingest([s3_event(index.get(clip_id).object_key, settings.clips_bucket)])
        clips.append(index.get(clip_id))
    s3 = boto3.client("s3")
    held = clips[1]  # a case's S3 lock set after the sweep found the clip due
    lock = {"Bucket": settings.clips_bucket, "Key": held.object_key, "VersionId": held.object_version}
    s3.put_object_legal_hold(**lock, LegalHold={"Status": "ON"})
    requests: Counter[str] = Counter()
    s3.meta.events.register("before-call.s3", lambda model, **_: requests.update([model.name]))
    objects = ClipObjects(s3, settings.clips_bucket, settings.clips_key_arn)
    queue = WorkQueue(boto3.client("sqs"), settings.retention_queue_url)
    sweep = RetentionSweep(index, objects, wiring.audit_log(), wiring.catalog(), wiring.subject_request_book(), queue)

    report = sweep.site("aizkraukle", NOW + timedelta(days=3650))

    assert report.expired == 2
    assert [index.get(clip.clip_id).status for clip in clips] == ["expired", "indexed", "expired"]
    assert s3.head_object(**lock)["ContentLength"] == held.size  # the held footage stays
    assert requests["DeleteObjects"] == 1  # the three clips' versions in one request
    assert requests["DeleteObject"] == requests["ListObjectVersions"] == 0
