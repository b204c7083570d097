"""The camera wall after the retention sweep: a camera silent for longer than the retention has its latest clip
expired, and the wall then offers no poster of the deleted stills; an older clip expiring leaves the latest
clip's poster alone; a clip arriving late once the poster is gone is the poster."""

from __future__ import annotations

from datetime import timedelta

from chalicelib import wiring
from chalicelib.domain.principal import Principal, Role
from gateway.clipmaker import make_clip
from tests.integration.test_ingest_handler import NOW, invoke_ingest, registered_upload, s3_event, site  # noqa: F401

OPERATOR = Principal(id="user:operator", role=Role.OPERATOR, sites=frozenset({"aizkraukle"}))
RETENTION = timedelta(days=7)  # the test site's


def poster_of_cam_1(at) -> str | None:
    (camera,) = wiring.footage().wall(OPERATOR, "aizkraukle", at).cameras
    return camera.poster.url if camera.poster else None


def test_a_cameras_latest_clip_expiring_takes_its_poster_off_the_wall(site, tmp_path):  # noqa: F811
    index, bucket = wiring.clip_index(), wiring.get_settings().clips_bucket
    ids = []
    for ago in (1000, 10):  # the older first, then the camera's latest clip
        path = tmp_path / f"clip-{ago}.mp4"
        make_clip(path, seconds=2, width=160, height=120, fps=10)
        clip_id = registered_upload(site, path, ended_ago_s=ago)
        invoke_ingest([s3_event(index.get(clip_id).object_key, bucket)])
        ids.append(clip_id)
    sweep = wiring.retention_sweep()
    assert poster_of_cam_1(NOW) is not None

    between = NOW + RETENTION - timedelta(seconds=500)  # the older clip's time is up, not the latest's
    assert sweep.site("aizkraukle", between).expired == 1
    assert poster_of_cam_1(between) is not None
    assert wiring.catalog().get_camera("cam-1").latest_clip_id == ids[1]

    after = NOW + RETENTION + timedelta(days=1)
    assert sweep.site("aizkraukle", after).expired == 1
    assert [index.get(clip_id).status for clip_id in ids] == ["expired", "expired"]
    assert poster_of_cam_1(after) is None
    assert wiring.catalog().get_camera("cam-1").last_clip_at is not None  # when it last recorded stays known


def test_an_older_clip_arriving_after_the_latest_poster_went_is_the_poster_and_the_last_clip_time_stays(
    site,  # noqa: F811
    tmp_path,
):
    """Clips come out of order after an outage: one older than the camera's last that arrives once the latest
    clip's poster is gone (erased, expired) gives the wall a poster again; while a poster stands, it does not."""
    index, bucket, catalog = wiring.clip_index(), wiring.get_settings().clips_bucket, wiring.catalog()

    def ingested(ago: int) -> str:
        path = tmp_path / f"clip-{ago}.mp4"
        make_clip(path, seconds=2, width=160, height=120, fps=10)
        clip_id = registered_upload(site, path, ended_ago_s=ago)
        invoke_ingest([s3_event(index.get(clip_id).object_key, bucket)])
        return clip_id

    latest = ingested(10)
    last_clip_at = catalog.get_camera("cam-1").last_clip_at
    ingested(500)  # older, while the latest's poster stands: nothing changes
    assert catalog.get_camera("cam-1").latest_clip_id == latest
    catalog.forget_latest_clip("cam-1", latest)  # what erasing it does
    assert poster_of_cam_1(NOW) is None

    late = ingested(1000)

    camera = catalog.get_camera("cam-1")
    assert camera.latest_clip_id == late
    assert camera.last_clip_at == last_clip_at  # never backwards
    assert poster_of_cam_1(NOW) is not None
