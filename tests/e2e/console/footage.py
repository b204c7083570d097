"""Clips for the console tests: real video, uploaded through the gateway API like any gateway would."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.clipmaker import make_clip
from tests.e2e.conftest import Recorded

RIGA = ZoneInfo("Europe/Riga")


def debian_ffmpeg_clip(path: Path, seconds: int, codec: str = "libx264") -> Path:
    """As an outside tool writes it: Debian's ffmpeg with its defaults (moov at the end, one keyframe)."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x240:rate=10:duration={seconds}",
            "-c:v",
            codec,
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def back_to_back(tmp_path: Path, camera_id: str, ended_ago: timedelta, seconds: int = 3) -> list[Recorded]:
    """Two clips of a camera, the second starting where the first ends; the first made by Debian's ffmpeg
    (moov at the end: the browser must use range requests), the second by our own clip maker."""
    end = datetime.now(UTC).replace(microsecond=0) - ended_ago
    middle = end - timedelta(seconds=seconds)
    start = middle - timedelta(seconds=seconds)
    first = debian_ffmpeg_clip(tmp_path / f"{camera_id}-first.mp4", seconds)
    second = tmp_path / f"{camera_id}-second.mp4"
    make_clip(second, seconds=seconds, width=320, height=240, fps=10, label=f"{camera_id} second")
    return [Recorded(first, camera_id, start, middle), Recorded(second, camera_id, middle, end)]


def site_day_and_hour(moment: datetime) -> tuple[str, int, str]:
    """The day, the hour and the time of day (HH:MM:SS) as Riga's and Vilnius' clocks in winter show it."""
    local = moment.astimezone(RIGA)
    return local.date().isoformat(), local.hour, local.strftime("%H:%M:%S")
