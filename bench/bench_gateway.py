"""The gateway agent: sealing cost, and draining a backlog into the local archive.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_gateway.py [--clips 1000] [--large 10]`. Three tables,
each with a baseline measured in the same run:
- seal and open 100 MB with age (pyrage) against copying the same file;
- draining a backlog through the agent (seal, register, PUT, confirm) against bare presigned PUTs of the
  same kind of files, with the agent's peak memory while it drains: N small one-second clips (the cost
  per clip), then 30 MB clips (the cost per byte).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyrage
from pyrage import x25519

from gateway.clipmaker import make_clip
from gateway.uplink import Uplink, put_clip
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo

MB = 1_000_000


def timed(action: object, *args: object) -> float:
    started = time.perf_counter()
    action(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def sealing_table(work: Path) -> None:
    plain, sealed, opened, copy = (work / name for name in ("plain", "sealed", "opened", "copy"))
    plain.write_bytes(os.urandom(100 * MB))
    identity = x25519.Identity.generate()
    baseline = timed(shutil.copyfile, plain, copy)
    seal = timed(pyrage.encrypt_file, str(plain), str(sealed), [identity.to_public()])
    unseal = timed(pyrage.decrypt_file, str(sealed), str(opened), [identity])
    print("| 100 MB | seconds | ratio |\n|---|---:|---:|")
    print(f"| copy (baseline) | {baseline:.3f} | 1.0 |")
    print(f"| seal (age, X25519 + ChaCha20-Poly1305) | {seal:.3f} | {seal / baseline:.1f} |")
    print(f"| open | {unseal:.3f} | {unseal / baseline:.1f} |\n")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_backlog(folder: Path, count: int, camera_id: str, size: int, ended_before: timedelta) -> list[Path]:
    """`count` distinct one-second recordings, each grown to `size` bytes with an ISO-BMFF `free` box."""
    folder.mkdir(parents=True)
    template = folder.parent / f"template-{camera_id}.mp4"
    make_clip(template, seconds=1, width=160, height=120, fps=10)
    padding = max(0, size - template.stat().st_size)
    if padding >= 8:
        with template.open("ab") as grown:
            grown.write(struct.pack(">I4s", padding, b"free") + bytes(padding - 8))
    clips = []
    for number in range(count):
        clip = folder / f"{camera_id}-{number:05d}.mp4"
        shutil.copyfile(template, clip)
        # Each a distinct recording: two seconds apart, the oldest first.
        ended = (datetime.now(UTC) - ended_before + timedelta(seconds=2 * number)).timestamp()
        os.utime(clip, (ended, ended))
        clips.append(clip)
    return clips


def agent_config(work: Path, archive: RunInfo, camera_id: str, folder: Path) -> Path:
    gateway = archive.gateways["birzai"]
    config = work / f"gateway-{camera_id}.toml"
    config.write_text(
        f'api_url = "{archive.api_url}"\ntoken = "{gateway["token"]}"\n'
        f'site_recipient = "{gateway["site_recipient"]}"\nspool_dir = "{work / f"spool-{camera_id}"}"\n'
        "quota_bytes = 10_000_000_000\nmax_clip_age_days = 7\nheartbeat_seconds = 30\n"
        "poll_seconds = 0.5\nsettle_seconds = 0\n"
        f'[[cameras]]\ncamera_id = "{camera_id}"\nwatch_dir = "{folder}"\n'
    )
    return config


def drain_rows(work: Path, archive: RunInfo, count: int, size: int, ended_before: timedelta) -> None:
    """Baseline: the same kind of files, registered and PUT directly one after another. Then the agent,
    timed from start until its folder and spool are empty (every clip sealed, sent and confirmed)."""
    bare_camera, agent_camera = "birzai-lake", "birzai-market" if size < MB else "birzai-castle"
    bare = make_backlog(work / f"bare-{agent_camera}", count, bare_camera, size, ended_before + timedelta(hours=1))
    uplink = Uplink(archive.api_url, archive.gateways["birzai"]["token"])
    started = time.perf_counter()
    for clip in bare:
        end = datetime.fromtimestamp(clip.stat().st_mtime, UTC)
        put_clip(uplink.register(bare_camera, end - timedelta(seconds=1), end, clip)["upload"], clip)
    bare_s = time.perf_counter() - started
    folder = work / f"nvr-{agent_camera}"
    backlog = make_backlog(folder, count, agent_camera, size, ended_before)
    size_mb = sum(clip.stat().st_size for clip in backlog) / MB
    agent = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(agent_config(work, archive, agent_camera, folder))],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pending = work / f"spool-{agent_camera}" / "pending"
    started = time.perf_counter()
    try:
        while any(folder.iterdir()) or not pending.exists() or any(pending.iterdir()):
            time.sleep(0.2)
        agent_s = time.perf_counter() - started
        rss = peak_rss_mb(agent.pid)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
    print(f"| {count} clips of {size_mb / count:.2f} MB | clips/s | MB/s | ratio | agent peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bare register + PUT (baseline) | {count / bare_s:.1f} | {size_mb / bare_s:.2f} | 1.0 | — |")
    print(
        f"| agent: seal, register, PUT, confirm | {count / agent_s:.1f} | {size_mb / agent_s:.2f} | "
        f"{bare_s / agent_s:.2f} | {rss:.0f} |\n"
    )


def drain_tables(work: Path, count: int, large: int) -> None:
    with LocalArchive(LocalOptions(workdir=work / "run", simulator=False, retention_every_s=3600)) as archive:
        assert archive.info is not None
        drain_rows(work, archive.info, count, 0, timedelta(hours=2))
        drain_rows(work, archive.info, large, 30 * MB, timedelta(hours=5))  # a minute of 4 Mbit/s camera video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=200, help="small clips in the first backlog")
    parser.add_argument("--large", type=int, default=10, help="30 MB clips in the second backlog")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        sealing_table(Path(work))
        drain_tables(Path(work), arguments.clips, arguments.large)


if __name__ == "__main__":
    main()
