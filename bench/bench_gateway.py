"""The gateway agent: sealing cost, and draining a backlog into the local archive.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_gateway.py [--clips 1000]`. Two tables, each with a
baseline measured in the same run:
- seal and open 100 MB with age (pyrage) against copying the same file;
- draining a backlog of N one-second clips through the agent (seal, register, PUT, confirm) against bare
  presigned PUTs of the same files, with the agent's peak memory while it drains.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
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
from local.stack import ROOT, LocalArchive, LocalOptions

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


def make_backlog(folder: Path, count: int, camera_id: str) -> list[Path]:
    folder.mkdir(parents=True)
    template = folder.parent / "template.mp4"
    make_clip(template, seconds=1, width=160, height=120, fps=10)
    clips = []
    for number in range(count):
        clip = folder / f"{camera_id}-{number:05d}.mp4"
        shutil.copyfile(template, clip)
        # Each a distinct recording: one second apart, the oldest first.
        ended = (datetime.now(UTC) - timedelta(hours=2) + timedelta(seconds=2 * number)).timestamp()
        os.utime(clip, (ended, ended))
        clips.append(clip)
    return clips


def drain_table(work: Path, count: int) -> None:
    with LocalArchive(LocalOptions(workdir=work / "run", simulator=False, retention_every_s=3600)) as archive:
        assert archive.info is not None
        gateway = archive.info.gateways["birzai"]
        # Baseline: the same kind of files, registered and PUT directly, one after another.
        bare = make_backlog(work / "bare", count, "birzai-lake")
        uplink = Uplink(archive.info.api_url, gateway["token"])
        started = time.perf_counter()
        for number, clip in enumerate(bare):
            end = datetime.now(UTC) - timedelta(hours=3) + timedelta(seconds=2 * number)
            put_clip(uplink.register("birzai-lake", end - timedelta(seconds=1), end, clip)["upload"], clip)
        bare_s = time.perf_counter() - started
        backlog = make_backlog(work / "nvr", count, "birzai-market")
        size_mb = sum(clip.stat().st_size for clip in backlog) / MB
        config = work / "gateway.toml"
        config.write_text(
            f'api_url = "{archive.info.api_url}"\ntoken = "{gateway["token"]}"\n'
            f'site_recipient = "{gateway["site_recipient"]}"\nspool_dir = "{work / "spool"}"\n'
            "quota_bytes = 10_000_000_000\nmax_clip_age_days = 7\nheartbeat_seconds = 30\n"
            "poll_seconds = 0.5\nsettle_seconds = 0\n"
            f'[[cameras]]\ncamera_id = "birzai-market"\nwatch_dir = "{work / "nvr"}"\n'
        )
        agent = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.perf_counter()
        pending = work / "spool" / "pending"
        try:
            while any(work.joinpath("nvr").iterdir()) or not pending.exists() or any(pending.iterdir()):
                time.sleep(0.5)
            agent_s = time.perf_counter() - started
            rss = peak_rss_mb(agent.pid)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
    print(f"| {count} clips, {size_mb:.1f} MB | clips/s | MB/s | ratio | peak RSS MB |\n|---|---:|---:|---:|---:|")
    print(f"| bare register + PUT (baseline) | {count / bare_s:.1f} | {size_mb / bare_s:.2f} | 1.0 | — |")
    print(
        f"| agent: seal, register, PUT, confirm | {count / agent_s:.1f} | {size_mb / agent_s:.2f} | "
        f"{bare_s / agent_s:.2f} | {rss:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=200)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        sealing_table(Path(work))
        drain_table(Path(work), arguments.clips)


if __name__ == "__main__":
    main()
