"""Time poster thumbnails and probe on a 10 s 720p H.264 clip against naive and CLI baselines."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av

# `python bench/bench_thumbnail.py` puts bench/ on the path, not the repo root the packages live in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.media.video import MediaLimits, probe, thumbnails  # noqa: E402
from gateway.clipmaker import make_clip  # noqa: E402

RUNS = 10


def median_ms(action: Callable[[], object], runs: int = RUNS) -> float:
    """Return the median wall time of `action` in ms, after one untimed warm-up run."""
    action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def decode_every_frame(path: Path) -> None:
    """Naive baseline: decode the whole clip, as code that ignores keyframes would."""
    with av.open(str(path)) as container:
        for _ in container.decode(video=0):
            pass


def ffmpeg_poster(ffmpeg: str, path: Path, out: Path) -> None:
    """Outside reference: the ffmpeg CLI writing a 320 px poster, as a child process."""
    command = [
        ffmpeg,
        "-v",
        "error",
        "-y",
        "-i",
        str(path),
        "-frames:v",
        "1",
        "-vf",
        "scale=320:-1",
        str(out),
    ]
    subprocess.run(command, check=True)


def main() -> None:
    """Make the clip, time each method, print a markdown table."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        encode_ms = median_ms(
            lambda: make_clip(clip, seconds=10, width=1280, height=720, fps=25, layout="faststart", label="bench"),
            runs=3,
        )
        size_kb = clip.stat().st_size / 1024

        baseline = median_ms(lambda: decode_every_frame(clip))
        rows = [
            ("decode every frame (PyAV, baseline)", baseline),
            (
                "poster, in-process (`thumbnails(strip_count=0)`)",
                median_ms(lambda: thumbnails(clip, strip_count=0)),
            ),
            ("poster + 4-still strip, in-process", median_ms(lambda: thumbnails(clip))),
            ("`probe` (header + demux all packets)", median_ms(lambda: probe(clip, MediaLimits()))),
        ]
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            out = Path(tmp) / "poster.jpg"
            rows.append(
                (
                    "`ffmpeg -frames:v 1 -vf scale=320:-1` process",
                    median_ms(lambda: ffmpeg_poster(ffmpeg, clip, out)),
                )
            )

    print(f"10 s 1280x720 25 fps H.264 faststart clip, {size_kb:.0f} KiB")
    print(f"encode (make_clip, median of 3): {encode_ms:.0f} ms")
    print(f"median of {RUNS} runs each after a warm-up; ratio = method / baseline\n")
    print("| method | median ms | ratio vs baseline |")
    print("|---|---:|---:|")
    for method, ms in rows:
        print(f"| {method} | {ms:.1f} | {ms / baseline:.3f} |")
    if not ffmpeg:
        print("\n(no `ffmpeg` on PATH: CLI row skipped)")


if __name__ == "__main__":
    main()
