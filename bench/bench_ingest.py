"""Ingest on the local stack: seconds from PUT to `indexed`, and the worker's memory as clips grow.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_ingest.py`. Starts the whole local archive (no simulator),
uploads real H.264 clips as a gateway does, and prints a table. Baseline, measured in the same run: the
bare presigned PUT of the same file. Memory: the worker's peak RSS (VmHWM) before and after each clip; a
streaming ingest keeps it flat while the clip grows tenfold.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

from gateway.clipmaker import make_clip
from gateway.uplink import Uplink, put_clip
from local.stack import LocalArchive, LocalOptions

ROUNDS = 5


def noise_clip(path: Path, seconds: int, width: int, height: int, fps: int = 25) -> None:
    """An incompressible clip (random pixels), so its size in bytes is large for its length."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "10"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * fps):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(os.urandom(plane.buffer_size))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def upload_and_wait(
    uplink: Uplink, camera_id: str, path: Path, seconds: float, ended_ago_s: float
) -> tuple[float, float]:
    """(seconds the PUT took, seconds from the PUT's end to `indexed`)."""
    end = datetime.now(UTC) - timedelta(seconds=ended_ago_s)
    registered = uplink.register(camera_id, end - timedelta(seconds=seconds), end, path)
    started = time.perf_counter()
    put_clip(registered["upload"], path)
    put_done = time.perf_counter()
    while uplink.clip_state(registered["clip_id"])["status"] not in ("indexed", "quarantined"):
        time.sleep(0.02)
    status = uplink.clip_state(registered["clip_id"])["status"]
    if status != "indexed":
        raise RuntimeError(f"clip {registered['clip_id']} was {status}")
    return put_done - started, time.perf_counter() - put_done


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as work,
        LocalArchive(LocalOptions(workdir=Path(work) / "run", simulator=False, retention_every_s=3600)) as archive,
    ):
        assert archive.info is not None
        uplink = Uplink(archive.info.api_url, archive.info.gateways["aizkraukle"]["token"])
        worker = archive.info.pids["jobs"]
        clips = {
            "10 s 720p H.264 (NVR-like)": (Path(work) / "nvr.mp4", 10),
            "4 s 480p noise": (Path(work) / "noise-small.mp4", 4),
            "40 s 480p noise": (Path(work) / "noise-large.mp4", 40),
        }
        make_clip(clips["10 s 720p H.264 (NVR-like)"][0], seconds=10, width=1280, height=720, fps=25)
        noise_clip(clips["4 s 480p noise"][0], 4, 854, 480)
        noise_clip(clips["40 s 480p noise"][0], 40, 854, 480)
        rows = []
        ago = 600.0
        for name, (path, seconds) in clips.items():
            puts, ingests = [], []
            for _ in range(ROUNDS):
                ago -= seconds + 1
                put_s, ingest_s = upload_and_wait(uplink, "aizkraukle-square", path, seconds, ago)
                puts.append(put_s)
                ingests.append(ingest_s)
            rows.append(
                (
                    name,
                    path.stat().st_size / 1e6,
                    statistics.median(puts),
                    statistics.median(ingests),
                    peak_rss_mb(worker),
                )
            )
        print("| clip | MB | bare PUT s (baseline) | PUT→indexed s | ratio | worker peak RSS MB |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, size, put_s, ingest_s, rss in rows:
            print(f"| {name} | {size:.1f} | {put_s:.3f} | {ingest_s:.3f} | {ingest_s / put_s:.1f}× | {rss:.0f} |")


if __name__ == "__main__":
    main()
