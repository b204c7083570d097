"""What makes an uploaded clip acceptable (chalicelib.domain.ingest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.clips import Clip, ClipStatus, SealedFile, VideoFacts
from chalicelib.domain.ingest import UploadFate, upload_fate, upload_problem, video_problem

START = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
SHA = "ab" * 32
TOLERANCE_S = 2.0


def registered(seconds: float = 60.0) -> Clip:
    return Clip(
        clip_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        site="aizkraukle",
        camera_id="cam-01",
        gateway_id="gw-aizkraukle-1",
        start=START,
        end=START + timedelta(seconds=seconds),
        size=1_000,
        sha256=SHA,
        status=ClipStatus.UPLOADED,
        retain_until=START + timedelta(days=7),
        registered_at=START,
        object_key="clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4",
    )


def video(duration_s: float) -> VideoFacts:
    return VideoFacts(codec="h264", width=320, height=240, fps=25.0, duration_s=duration_s)


# upload_problem


def test_registered_bytes_have_no_upload_problem() -> None:
    assert upload_problem(registered(), 1_000, SHA) is None


def test_stored_size_differing_is_a_problem() -> None:
    assert upload_problem(registered(), 999, SHA) == "size 999 bytes differs from the registered 1000"


def test_stored_sha256_differing_is_a_problem() -> None:
    problem = upload_problem(registered(), 1_000, "cd" * 32)
    assert problem is not None
    assert problem.startswith(f"sha256 {'cd' * 32} differs")


# video_problem: allowed = max(fixed slack, 5 % of the registered length)


@pytest.mark.parametrize("duration_s", [58.0, 60.0, 63.0, 57.0], ids=str)
def test_video_within_five_percent_of_a_minute_accepted(duration_s: float) -> None:
    # Given a 60 s clip, 5 % (3 s) is more than the 2 s fixed slack
    assert video_problem(registered(60.0), video(duration_s), TOLERANCE_S) is None


@pytest.mark.parametrize("duration_s", [63.01, 56.99], ids=str)
def test_video_beyond_five_percent_of_a_minute_refused(duration_s: float) -> None:
    assert video_problem(registered(60.0), video(duration_s), TOLERANCE_S) is not None


@pytest.mark.parametrize("duration_s", [8.0, 12.0], ids=str)
def test_short_video_within_fixed_slack_accepted(duration_s: float) -> None:
    # Given a 10 s clip, 5 % is only 0.5 s: the 2 s fixed slack applies
    assert video_problem(registered(10.0), video(duration_s), TOLERANCE_S) is None


@pytest.mark.parametrize("duration_s", [7.99, 12.01], ids=str)
def test_short_video_beyond_fixed_slack_refused(duration_s: float) -> None:
    assert video_problem(registered(10.0), video(duration_s), TOLERANCE_S) is not None


def test_video_problem_names_both_durations() -> None:
    assert video_problem(registered(10.0), video(4.0), TOLERANCE_S) == (
        "duration 4.00 s differs from the registered 10.00 s"
    )


# upload_fate: what arrives for a clip that no longer awaits it goes


PLAIN_KEY = "clips/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4"
SEALED_KEY = "sealed/aizkraukle/cam-01/2026/11/25/01ARZ3NDEKTSV4RRFFQ69G5FAV.mp4.age"


def in_state(status: ClipStatus, *, sealed: bool = False, **fields: object) -> Clip:
    changes: dict[str, object] = {"status": status, **fields}
    if sealed:
        changes["sealed"] = SealedFile(size=1_300, sha256="cd" * 32)
    return registered().model_copy(update=changes)


@pytest.mark.parametrize("status", [ClipStatus.ERASED, ClipStatus.EXPIRED])
@pytest.mark.parametrize("key", [PLAIN_KEY, SEALED_KEY])
def test_anything_arriving_for_an_erased_or_expired_clip_is_deleted_whole(status, key):
    fate, reason = upload_fate(in_state(status, sealed=key == SEALED_KEY), key, "v9")
    assert fate == UploadFate.DISCARD_ALL
    assert status.value in reason


def test_the_awaited_upload_is_taken_and_the_one_being_judged_is_taken_again_after_a_crash():
    assert upload_fate(in_state(ClipStatus.REGISTERED), PLAIN_KEY, "v1")[0] == UploadFate.TAKE
    assert upload_fate(in_state(ClipStatus.UPLOADED, object_version="v1"), PLAIN_KEY, "v1")[0] == UploadFate.TAKE
    sealed = in_state(ClipStatus.UPLOADED, sealed=True, sealed_version="s1")
    assert upload_fate(sealed, SEALED_KEY, "s1")[0] == UploadFate.TAKE


@pytest.mark.parametrize("status", [ClipStatus.UPLOADED, ClipStatus.INDEXED, ClipStatus.QUARANTINED])
def test_a_second_upload_for_a_judged_clip_is_deleted_and_its_first_kept(status):
    clip = in_state(status, object_version="v1")
    assert upload_fate(clip, PLAIN_KEY, "v1")[0] in (UploadFate.TAKE, UploadFate.DUPLICATE)
    assert upload_fate(clip, PLAIN_KEY, "v2")[0] == UploadFate.DISCARD


def test_ingest_s_own_write_at_a_sealed_clip_s_key_is_kept_and_anything_else_there_goes():
    being_judged = in_state(ClipStatus.UPLOADED, sealed=True, sealed_version="s1")
    indexed = in_state(ClipStatus.INDEXED, sealed=True, sealed_version="s1", object_version="p1")
    assert upload_fate(being_judged, PLAIN_KEY, "p1")[0] == UploadFate.DUPLICATE  # opened and stored right now
    assert upload_fate(indexed, PLAIN_KEY, "p1")[0] == UploadFate.DUPLICATE
    assert upload_fate(indexed, PLAIN_KEY, "p2")[0] == UploadFate.DISCARD
    # A plain URL issued before the gateway resealed the clip: not what the clip awaits any more.
    assert upload_fate(in_state(ClipStatus.REGISTERED, sealed=True), PLAIN_KEY, "x")[0] == UploadFate.DISCARD


def test_a_sealed_upload_arriving_again_after_indexing_is_a_duplicate_and_another_one_goes():
    indexed = in_state(ClipStatus.INDEXED, sealed=True, sealed_version="s1", object_version="p1")
    assert upload_fate(indexed, SEALED_KEY, "s1")[0] == UploadFate.DUPLICATE
    assert upload_fate(indexed, SEALED_KEY, "s2")[0] == UploadFate.DISCARD


def test_received_means_the_registered_bytes_were_found():
    assert in_state(ClipStatus.INDEXED).received
    assert in_state(ClipStatus.QUARANTINED, bytes_verified=True).received  # the video is what is wrong
    assert not in_state(ClipStatus.QUARANTINED, bytes_verified=False).received  # other bytes: keep the copy
    assert not in_state(ClipStatus.UPLOADED).received
