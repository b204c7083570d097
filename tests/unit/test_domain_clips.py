"""Clip registration rules, identity, object keys and the clip record (chalicelib.domain.clips)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyrage
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError
from pyrage import x25519
from ulid import ULID

from chalicelib.domain.clips import (
    Clip,
    ClipStatus,
    Registration,
    RegistrationLimits,
    UploadUrlPolicy,
    UtcTime,
    check_registration,
    clip_id_for,
    clip_id_from_key,
    object_key,
    retain_until,
    sealed_size_range,
)
from chalicelib.errors import InvalidRequest

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
START = NOW - timedelta(hours=1)
SHA = "ab" * 32
UTC_TIME: TypeAdapter[datetime] = TypeAdapter(UtcTime)
LIMITS = RegistrationLimits(clock_skew=timedelta(minutes=5), max_duration=timedelta(hours=1), max_bytes=10_000)


def registration(**changes: Any) -> Registration:
    fields: dict[str, Any] = {
        "camera_id": "cam-01",
        "start": START,
        "end": START + timedelta(seconds=60),
        "size": 1_000,
        "sha256": SHA,
    }
    fields.update(changes)
    return Registration.model_validate(fields)


def clip_of(reg: Registration, site: str = "aizkraukle") -> Clip:
    clip_id = clip_id_for(site, reg)
    return Clip(
        clip_id=clip_id,
        site=site,
        camera_id=reg.camera_id,
        gateway_id="gw-aizkraukle-1",
        start=reg.start,
        end=reg.end,
        size=reg.size,
        sha256=reg.sha256,
        status=ClipStatus.REGISTERED,
        retain_until=retain_until(reg.start, 7),
        registered_at=NOW,
        object_key=object_key(site, reg.camera_id, reg.start, clip_id),
    )


# check_registration


def test_ordinary_registration_accepted() -> None:
    check_registration(registration(), NOW, LIMITS)


@pytest.mark.parametrize("seconds", [0, -1], ids=["end_equals_start", "end_before_start"])
def test_end_not_after_start_refused(seconds: int) -> None:
    reg = registration(end=START + timedelta(seconds=seconds))
    with pytest.raises(InvalidRequest, match="end must be after start"):
        check_registration(reg, NOW, LIMITS)


def test_clip_exactly_max_duration_accepted() -> None:
    check_registration(registration(end=START + LIMITS.max_duration), NOW, LIMITS)


def test_clip_longer_than_max_duration_refused() -> None:
    reg = registration(end=START + LIMITS.max_duration + timedelta(milliseconds=1))
    with pytest.raises(InvalidRequest, match="at most 3600 s"):
        check_registration(reg, NOW, LIMITS)


def test_end_exactly_at_clock_skew_accepted() -> None:
    end = NOW + LIMITS.clock_skew
    check_registration(registration(start=end - timedelta(seconds=60), end=end), NOW, LIMITS)


def test_end_beyond_clock_skew_refused_as_not_yet() -> None:
    end = NOW + LIMITS.clock_skew + timedelta(milliseconds=1)
    reg = registration(start=end - timedelta(seconds=60), end=end)
    with pytest.raises(InvalidRequest, match="in the future") as refused:
        check_registration(reg, NOW, LIMITS)
    # Its own code: the gateway waits for time to cure it instead of counting it toward giving up.
    assert (refused.value.status, refused.value.code) == (400, "not_yet")
    check_registration(reg, NOW + timedelta(milliseconds=1), LIMITS)  # and time does cure it


def test_a_clock_correction_is_kept_apart_from_the_clips_identity() -> None:
    corrected = registration(clock_correction_s=600.0)
    assert clip_id_for("aizkraukle", corrected) == clip_id_for("aizkraukle", registration())
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        registration(clock_correction_s=-1)


def test_size_exactly_max_bytes_accepted() -> None:
    check_registration(registration(size=LIMITS.max_bytes), NOW, LIMITS)


def test_a_sealed_size_beyond_what_age_adds_to_the_clip_is_refused() -> None:
    # A registration with a 1 TB sealed size got 201 and then 65,536 part URLs: the cap held for the plaintext only.
    with pytest.raises(InvalidRequest, match="age file"):
        check_registration(registration(size=1_000, sealed={"size": 10**12, "sha256": SHA}), NOW, LIMITS)
    low, high = sealed_size_range(1_000)
    with pytest.raises(InvalidRequest, match="age file"):
        check_registration(registration(size=1_000, sealed={"size": high + 1, "sha256": SHA}), NOW, LIMITS)
    with pytest.raises(InvalidRequest, match="age file"):
        check_registration(registration(size=1_000, sealed={"size": low - 1, "sha256": SHA}), NOW, LIMITS)


@pytest.mark.parametrize("size", [1, 65_535, 65_536, 65_537, 1_000_003])
def test_what_age_makes_of_a_clip_lies_within_the_sealed_size_range(size: int) -> None:
    identity = x25519.Identity.generate()
    sealed = len(pyrage.encrypt(os.urandom(size), [identity.to_public()]))
    low, high = sealed_size_range(size)
    assert low <= sealed <= high


def test_size_over_max_bytes_refused() -> None:
    with pytest.raises(InvalidRequest, match="at most 10000 bytes"):
        check_registration(registration(size=LIMITS.max_bytes + 1), NOW, LIMITS)


# clip_id_for


def test_same_registration_yields_same_clip_id() -> None:
    assert clip_id_for("aizkraukle", registration()) == clip_id_for("aizkraukle", registration())


@pytest.mark.parametrize(
    ("site", "changes"),
    [
        ("birzai", {}),
        ("aizkraukle", {"camera_id": "cam-02"}),
        ("aizkraukle", {"start": START + timedelta(milliseconds=1)}),
        ("aizkraukle", {"sha256": "cd" * 32}),
    ],
    ids=["site", "camera", "start", "sha256"],
)
def test_clip_id_differs_when_recording_differs(site: str, changes: dict[str, Any]) -> None:
    assert clip_id_for(site, registration(**changes)) != clip_id_for("aizkraukle", registration())


@pytest.mark.parametrize("changes", [{"end": START + timedelta(seconds=61)}, {"size": 999}], ids=["end", "size"])
def test_clip_id_ignores_end_and_size_so_a_changed_retry_conflicts(changes: dict[str, Any]) -> None:
    # Given a retry that disagrees only on end or size, it lands on the same id and is refused as a conflict.
    assert clip_id_for("aizkraukle", registration(**changes)) == clip_id_for("aizkraukle", registration())


@pytest.mark.parametrize("millis", [0, 1, 123, 999])
def test_clip_id_is_ulid_timestamped_at_start(millis: int) -> None:
    start = START + timedelta(milliseconds=millis)
    ulid = ULID.from_str(clip_id_for("aizkraukle", registration(start=start)))
    assert ulid.datetime == start


def test_clip_ids_sort_by_start() -> None:
    earlier = clip_id_for("aizkraukle", registration(sha256="ff" * 32))
    later = clip_id_for("aizkraukle", registration(start=START + timedelta(milliseconds=1), sha256="00" * 32))
    assert earlier < later


# object_key / clip_id_from_key


def test_object_key_round_trips_to_clip_id() -> None:
    clip_id = clip_id_for("aizkraukle", registration())
    assert clip_id_from_key(object_key("aizkraukle", "cam-01", START, clip_id)) == clip_id


def test_object_key_dated_by_utc_day_of_start() -> None:
    # Given a start sent with a +02:00 offset, just after local midnight (still the previous day in UTC)
    local_start = datetime(2026, 11, 26, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    reg = registration(start=local_start, end=local_start + timedelta(seconds=60))
    key = object_key("aizkraukle", reg.camera_id, reg.start, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert key == "clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4"


def notified_prefixes() -> list[str]:
    """The key prefixes whose new objects S3 announces to ingest, as infra/template.yaml configures them."""
    template = yaml.safe_load((Path(__file__).parents[2] / "infra" / "template.yaml").read_text(encoding="utf-8"))
    queues = template["Resources"]["ClipsBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    return [rule["Value"] for queue in queues for rule in queue["Filter"]["S3Key"]["Rules"] if rule["Name"] == "prefix"]


def test_ingests_own_put_of_an_opened_clip_is_announced_to_nobody() -> None:
    # A sealed clip's plaintext under clips/ made a second notification, SQS message and ingest run per clip.
    reg = registration(sealed={"size": 1_200, "sha256": SHA})
    clip_id = clip_id_for("aizkraukle", reg)
    opened = clip_of(reg).model_copy(
        update={"sealed": reg.sealed, "object_key": object_key("aizkraukle", "cam-01", START, clip_id, sealed=True)}
    )
    plain = clip_of(registration())
    prefixes = notified_prefixes()

    assert not any(opened.object_key.startswith(prefix) for prefix in prefixes)
    assert any(opened.upload_key.startswith(prefix) for prefix in prefixes)
    assert any(plain.upload_key.startswith(prefix) for prefix in prefixes)
    assert clip_id_from_key(opened.upload_key) == clip_id


@pytest.mark.parametrize(
    "key",
    [
        "opened/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "thumbnails/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.jpg",
        "clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4.jpg",
        "clips/aizkraukle/cam-01/2026/11/25/01arz3ndektsv4rrffq69g5fav.mp4",
        "clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FA.mp4",
        "clips/aizkraukle/cam-01/2026/11/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "clips/aizkraukle/cam-01/2026/11/25/extra/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "clips/../birzai/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "clips/aizkraukle/../2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "clips/aizkraukle/cam-01/2026/11/25/../01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "/clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "uploads/clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
        "",
    ],
)
def test_foreign_key_names_no_clip(key: str) -> None:
    assert clip_id_from_key(key) is None


def test_key_with_trailing_newline_names_no_clip() -> None:
    assert clip_id_from_key("clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4\n") is None


# retain_until


def test_retain_until_is_start_plus_retention_days() -> None:
    assert retain_until(START, 7) == START + timedelta(hours=7 * 24)


# Registration validation


@pytest.mark.parametrize("sha256", ["AB" * 32, "ab" * 31, "ab" * 33, "zz" * 32, ""], ids=str.__len__)
def test_malformed_sha256_refused(sha256: str) -> None:
    with pytest.raises(ValidationError, match="sha256"):
        registration(sha256=sha256)


@pytest.mark.parametrize(
    "start",
    [datetime(2026, 11, 25, 13, 0), "2026-11-25T13:00:00"],  # noqa: DTZ001 - the naive time under test
    ids=["datetime", "text"],
)
def test_naive_start_refused(start: datetime | str) -> None:
    with pytest.raises(ValidationError, match="start"):
        registration(start=start)


def test_offset_time_converted_to_utc() -> None:
    reg = registration(start="2026-11-25T15:00:00+02:00")
    assert reg.start.tzinfo is UTC
    assert reg.start == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_unknown_registration_field_refused() -> None:
    with pytest.raises(ValidationError, match="site"):
        registration(site="birzai")


@pytest.mark.parametrize("camera_id", ["Cam-01", "cam_01", "-cam", "c", "cam-01\n", "../cam"])
def test_malformed_camera_id_refused(camera_id: str) -> None:
    with pytest.raises(ValidationError, match="camera_id"):
        registration(camera_id=camera_id)


def test_empty_clip_refused() -> None:
    with pytest.raises(ValidationError, match="size"):
        registration(size=0)


# Clip.same_registration


def test_clip_is_same_registration_as_its_own() -> None:
    assert clip_of(registration()).same_registration(registration())


@pytest.mark.parametrize(
    "changes",
    [{"end": START + timedelta(seconds=61)}, {"size": 999}, {"sha256": "cd" * 32}, {"camera_id": "cam-02"}],
    ids=["end", "size", "sha256", "camera"],
)
def test_clip_differs_from_changed_registration(changes: dict[str, Any]) -> None:
    assert not clip_of(registration()).same_registration(registration(**changes))


def test_stored_clip_is_same_registration_as_sub_millisecond_retry() -> None:
    # Given a registration with microseconds, stored as the index stores it (JSON form) and read back
    reg = registration(start=START + timedelta(microseconds=123_456))
    stored = Clip.model_validate(clip_of(reg).model_dump(mode="json"))
    # When the gateway retries the very same registration, it is recognised
    assert stored.same_registration(reg)


# UtcTime serialisation


def test_utc_time_serialised_fixed_width_with_milliseconds() -> None:
    dumped = json.loads(clip_of(registration()).model_dump_json())
    assert dumped["start"] == "2026-11-25T13:00:00.000Z"


def test_utc_times_sort_as_text_like_times() -> None:
    # Given whole seconds and fractions: "14:00:00Z" would sort after "14:00:00.500Z" as text
    moments = [NOW + timedelta(milliseconds=500), NOW, NOW + timedelta(seconds=1), NOW - timedelta(milliseconds=1)]
    texts = [UTC_TIME.dump_python(moment, mode="json") for moment in moments]
    assert {len(text) for text in texts} == {len("2026-11-25T14:00:00.000Z")}
    assert sorted(texts) == [UTC_TIME.dump_python(moment, mode="json") for moment in sorted(moments)]


URLS = UploadUrlPolicy(start_within=timedelta(minutes=2), min_bytes_per_s=125_000, maximum=timedelta(minutes=15))


def test_an_upload_url_lives_until_its_upload_can_have_started() -> None:
    assert URLS.ttl(0, NOW + timedelta(days=7), NOW) == timedelta(minutes=2)
    # The part after 16 MiB of earlier parts starts at most 134 s later on a 1 Mbit/s uplink.
    assert URLS.ttl(16 << 20, NOW + timedelta(days=7), NOW) == timedelta(seconds=120 + 134)
    assert URLS.ttl(10**9, NOW + timedelta(days=7), NOW) == timedelta(minutes=15)


def test_an_upload_url_never_outlives_the_clips_retention() -> None:
    assert URLS.ttl(0, NOW + timedelta(seconds=30), NOW) == timedelta(seconds=30)
    assert URLS.ttl(0, NOW, NOW) is None
