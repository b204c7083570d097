"""Stills against the decode-only floor, on clips as Debian's ffmpeg writes them (bench/corpus.py).

Run: `PYTHONPATH=. .venv/bin/python bench/bench_thumbnail.py [--runs 7]`. For each clip of the corpus, in one run:
- floor (baseline): PyAV opens the clip and decodes exactly the keyframes a strip of 4 stills shows (the
  keyframe at or before 0, 1/4, 2/4 and 3/4 of the clip, each once), converting nothing: what no method can
  undercut; and the poster's own floor, open + the first keyframe;
- the poster alone, and all the stills in one JPEG (the poster first), as ingest makes them (JPEG included);
- probe (header + every packet demuxed) and the ffmpeg CLI writing one poster, for reference.
The methods run in turn, round after round (`--runs`), after a warm-up round; ratio = the median of each
round's method / the strip floor of the same round.
"""

from __future__ import annotations

import argparse
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

from bench.corpus import corpus  # noqa: E402
from bench.decode_floor import decode_strip_keyframes  # noqa: E402
from chalicelib.media.stills import thumbnails  # noqa: E402
from chalicelib.media.video import MediaLimits, probe  # noqa: E402

STILLS = 4


def paired(methods: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[float, float]]:
    """Each method once per round, in turn, after a warm-up round: {name: (median ms, median ratio to the
    first method within the same round)}. Pairing keeps ratios honest on a machine whose speed drifts."""
    for action in methods.values():
        action()  # file cache, codec set-up
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(runs):
        for name, action in methods.items():
            started = time.perf_counter()
            action()
            samples[name].append((time.perf_counter() - started) * 1000)
    baseline = samples[next(iter(methods))]
    return {
        name: (statistics.median(ms), statistics.median(m / b for m, b in zip(ms, baseline, strict=True)))
        for name, ms in samples.items()
    }


def ffmpeg_poster(ffmpeg: str, path: Path, out: Path) -> None:
    command = [ffmpeg, "-v", "error", "-y", "-i", str(path), "-frames:v", "1", "-vf", "scale=320:-1", str(out)]
    subprocess.run(command, check=True)


def rows_for(path: Path, runs: int, work: Path) -> list[tuple[str, float, float]]:
    """(method, median ms, median paired ratio to the strip's floor) for one clip."""
    keyframes = decode_strip_keyframes(path, STILLS)
    stills = thumbnails(path).stills
    strip_floor = f"floor: open + decode the strip's {keyframes} keyframe(s) (baseline)"
    methods: dict[str, Callable[[], object]] = {
        strip_floor: lambda: decode_strip_keyframes(path, STILLS),
        "floor: open + decode the first keyframe": lambda: decode_strip_keyframes(path, 1),
        "poster alone": lambda: thumbnails(path, count=0),
        f"all stills in one JPEG: {stills} in all": lambda: thumbnails(path, count=STILLS),
        "probe: header + demux every packet": lambda: probe(path, MediaLimits()),
    }
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        methods["`ffmpeg -frames:v 1 -vf scale=320:-1` process"] = lambda: ffmpeg_poster(ffmpeg, path, work / "p.jpg")
    return [(name, ms, ratio) for name, (ms, ratio) in paired(methods, runs).items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    work = Path(tempfile.gettempdir())
    print(f"{arguments.runs} rounds after a warm-up, ratios paired by round; PyAV {av.__version__}\n")
    print("| clip | MB | method | median ms | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, path in corpus().items():
        size = path.stat().st_size / 1e6
        for method, ms, ratio in rows_for(path, arguments.runs, work):
            print(f"| {name} | {size:.1f} | {method} | {ms:.1f} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
