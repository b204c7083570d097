"""What makes an uploaded clip acceptable (chalicelib.domain.ingest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.clips import Clip, ClipStatus, VideoFacts
from chalicelib.domain.ingest import upload_problem, video_problem

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
