"""Registering many clips in one request: each clip judged, answered and audited as it would be alone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.audit import AuditFilter, Outcome
from chalicelib.domain.catalog import Camera, Gateway, Site
from chalicelib.domain.clips import Registration
from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import AccessRefused
from chalicelib.services.intake import RegistrationBatch
from tests.integration.conftest import TEST_SITE

NOW = datetime.now(UTC).replace(microsecond=0)
GATEWAY = Principal(id="gateway:gw-test", role=Role.GATEWAY, sites=frozenset({"aizkraukle"}))


@pytest.fixture
def site(deployed):
    catalog = wiring.catalog()
    catalog.put_site(TEST_SITE)
    catalog.put_site(Site.model_validate(TEST_SITE.model_dump() | {"site_id": "birzai", "name": "Biržai"}))
    for camera_id, site_id in (("cam-1", "aizkraukle"), ("cam-2", "aizkraukle"), ("birzai-cam", "birzai")):
        catalog.add_camera(Camera(camera_id=camera_id, site_id=site_id, name="c", location="l", created_at=NOW))
    catalog.add_gateway(
        Gateway(
            gateway_id="gw-test",
            site_id="aizkraukle",
            name="g",
            camera_ids=("cam-1",),  # not cam-2: another gateway's camera of the same site
            secret_sha256="0" * 64,
            created_at=NOW,
            created_by="test",
        )
    )
    return GATEWAY


def clip(number: int, camera_id: str = "cam-1", **changes: object) -> Registration:
    end = NOW - timedelta(minutes=number)
    values = {"camera_id": camera_id, "start": end - timedelta(seconds=10), "end": end, "size": 1000 + number}
    return Registration.model_validate(values | {"sha256": hashlib.sha256(bytes([number])).hexdigest()} | changes)


def batch(*clips: Registration) -> RegistrationBatch:
    return RegistrationBatch(clips=list(clips))


def refusals(action: str) -> list[tuple[str, str, str, str | None]]:
    events, _ = wiring.audit_log().events(
        "aizkraukle", NOW - timedelta(hours=1), datetime.now(UTC), 100, None, AuditFilter(outcome=Outcome.REFUSED)
    )
    return [(event.actor, event.action, event.target, event.reason) for event in events if event.action == action]


def test_a_batch_registers_each_clip_once_and_again_returns_the_same_clips_as_the_single_route(site):
    intake = wiring.intake()
    first = intake.register_batch(site, batch(clip(1), clip(2)), NOW)
    assert [item.status for item in first.clips] == [201, 201]
    assert all(item.clip and item.clip.upload and item.refusal is None for item in first.clips)

    alone = intake.register(site, clip(2), NOW)  # the single route knows the batch's clip
    again = intake.register_batch(site, batch(clip(1), clip(2), clip(3)), NOW)
    later_alone = intake.register(site, clip(3), NOW)  # and the batch knows the single route's

    ids = [item.clip.clip_id for item in again.clips if item.clip]
    assert [item.status for item in again.clips] == [200, 200, 201]
    assert ids[:2] == [item.clip.clip_id for item in first.clips if item.clip]
    assert (alone.created, alone.clip.clip_id, later_alone.created, later_alone.clip.clip_id) == (
        False, ids[1], False, ids[2],
    )  # fmt: skip


def test_a_clip_s3_holds_already_gets_no_url_in_a_mixed_batch(site):
    data = b"the clip's bytes"
    held = clip(1, size=len(data), sha256=hashlib.sha256(data).hexdigest())
    stored = wiring.intake().register(site, held, NOW).clip
    bucket = wiring.get_settings().clips_bucket
    boto3.client("s3").put_object(Bucket=bucket, Key=stored.object_key, Body=data, ChecksumAlgorithm="SHA256")

    answer = wiring.intake().register_batch(site, batch(clip(2), held), NOW)

    fresh, again = answer.clips
    assert fresh.status == 201 and fresh.clip and fresh.clip.upload is not None
    assert again.status == 200 and again.clip and (again.clip.received, again.clip.upload) == (True, None)


def test_another_sites_camera_in_a_batch_is_refused_alone_and_audited_as_a_single_registration_is(site):
    intake = wiring.intake()
    with pytest.raises(AccessRefused) as alone:
        intake.register(site, clip(5, camera_id="birzai-cam"), NOW)
    # What the route audits for that refusal (chalicelib.api.http: the refusal's action, target and reason).
    audited_alone = (GATEWAY.id, alone.value.action, alone.value.target, alone.value.message)

    answer = intake.register_batch(
        site, batch(clip(1), clip(2, camera_id="birzai-cam"), clip(3, camera_id="cam-2")), NOW
    )

    own, other_site, other_gateway = answer.clips
    assert own.status == 201 and own.clip is not None
    for refused in (other_site, other_gateway):
        assert (refused.status, refused.clip) == (403, None)
        assert refused.refusal is not None and refused.refusal.error == "forbidden"
    assert other_site.refusal and other_site.refusal.message == alone.value.message
    other_gateways = (GATEWAY.id, "clip.register", "cam-2", "camera cam-2 is not one of this gateway's cameras")
    assert sorted(refusals("clip.register")) == sorted([audited_alone, other_gateways])


def test_each_clips_own_4xx_is_its_answer_in_the_batch(site):
    intake = wiring.intake()
    intake.register(site, clip(1), NOW)
    future = clip(2, start=NOW + timedelta(hours=1), end=NOW + timedelta(hours=1, seconds=10))

    answer = intake.register_batch(site, batch(clip(1, size=5), future, clip(3)), NOW)

    assert [(item.status, item.refusal and item.refusal.error) for item in answer.clips] == [
        (409, "conflict"),  # the same recording registered with another size
        (400, "not_yet"),  # time cures it: the agent retries later without counting a refusal
        (201, None),
    ]


def test_a_revoked_gateway_is_refused_the_whole_batch(site):
    wiring.catalog().revoke_gateway("gw-test", "admin", NOW)

    with pytest.raises(AccessRefused):
        wiring.intake().register_batch(site, batch(clip(1)), NOW)
