"""A legal hold against the retention sweep on moto: the S3 lock is set first, so a sweep deleting the clip's
footage either meets the lock (and keeps the clip) or has already deleted it (and the hold is refused): a case
never holds a clip whose footage is gone."""

from __future__ import annotations

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.cases import HoldRequest, NewCase
from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import Conflict
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
