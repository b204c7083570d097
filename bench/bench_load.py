"""A bounded load test of the local archive (127.0.0.1 only): 50 officials and 10 gateways for 60 s.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_load.py [--officials 50] [--gateways 10] [--seconds 60]
[--think-s 3] [--clip-every-s 2] [--max-growth-mb 300]`. The archive runs as `run-local` runs it (its own
processes, data kept).
Officials (operators, investigators, DPOs, auditors of both sites) list clips, view them (an audited signed
URL), read the sites and the audit trail, pausing 0 to 2×think-s between requests; gateways register clips,
PUT them to S3, poll their state and send heartbeats, a clip every 0 to 2×clip-every-s. Baseline, in the
same run and under the same load: a bare `GET /health`. Prints latency per kind of request with ratios to
the baseline, failures (5xx, or no answer within 30 s: the run then exits 1), and every local process's
memory (peak, and growth during the load) and CPU; a process whose memory grew by more than --max-growth-mb
during the load also makes the run exit 1, named with its growth. Absolute numbers are the local stack's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.clipmaker import make_clip
from gateway.uplink import put_clip, sha256_of
from local.api_client import Answer, ApiClient, Session, http
from local.aws import AwsEndpoint
from local.demo import DEMO_PASSWORD, Official, create_official
from local.stack import ROOT

SITES = ("aizkraukle", "birzai")
ROLES = ("operator",) * 4 + ("investigator",) * 3 + ("dpo",) * 2 + ("auditor",)  # of every ten officials
PURPOSE = "load test: incident review of the local archive"


@dataclass
class Latencies:
    """Every request's duration and status, by kind; shared by the load threads."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unanswered: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call: Callable[..., Answer], *arguments: Any) -> Answer:
        """Time one request; one without an answer (refused, reset, 30 s without one) is counted apart."""
        started = time.perf_counter()
        try:
            answer = call(*arguments)
        except OSError:
            answer = Answer(status=0, body=None, headers={})
        with self.lock:
            self.seconds[kind].append(time.perf_counter() - started)
            self.server_errors[kind] += answer.status >= 500
            self.unanswered[kind] += answer.status == 0
        return answer


@dataclass
class BenchGateway:
    site: str
    camera_id: str
    token: str
    clips: list[Path]


def rss_mb(pid: int, field_name: str) -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def enrol(api: ApiClient, count: int, work: Path) -> list[BenchGateway]:
    """`count` gateways, each with a camera of its own and a few real clips to upload."""
    gateways = []
    for number in range(count):
        site = SITES[number % 2]
        admin = api.login(f"admin-{site}", DEMO_PASSWORD)
        camera_id = f"{site}-load-{number}"
        camera = {"camera_id": camera_id, "name": f"Load camera {number}", "location": "bench"}
        admin.post(f"/sites/{site}/cameras", camera).expect(201)
        created = admin.post("/gateways", {"site_id": site, "name": f"load {number}", "camera_ids": [camera_id]})
        clips = [work / f"{camera_id}-{n}.mp4" for n in range(3)]
        for n, clip in enumerate(clips):
            make_clip(clip, seconds=2, width=320, height=240, fps=10, label=f"{camera_id} {n}")
        gateways.append(BenchGateway(site, camera_id, created.expect(201)["token"], clips))
    return gateways


def officials(info: dict[str, Any], api: ApiClient, count: int) -> list[tuple[str, str, Session]]:
    """`count` logged-in officials: (role, site, session)."""
    sessions = []
    for number in range(count):
        role, site = ROLES[number % len(ROLES)], SITES[number % 2]
        official = Official(username=f"load-{role}-{number}", role=role, sites=(site,))
        create_official(AwsEndpoint(info["aws_endpoint"]), info["user_pool_id"], official)
        sessions.append((role, site, api.login(official.username, official.password)))
    return sessions


@dataclass(frozen=True)
class Pace:
    """Mean seconds between one official's requests, and between one gateway's clips."""

    official_s: float
    gateway_s: float

    def wait(self, stop: threading.Event, mean_s: float) -> bool:
        """Wait a random time around the mean (uniform, 0 to twice it); whether the run is over."""
        return stop.wait(random.uniform(0, 2 * mean_s))  # noqa: S311 - think time, not secrecy


def official_loop(
    role: str, site: str, session: Session, cameras: list[str], record: Latencies, stop: threading.Event, pace: Pace
) -> None:
    window = {"from": (datetime.now(UTC) - timedelta(hours=2)).isoformat(), "limit": 20}
    while not pace.wait(stop, pace.official_s):
        if role == "auditor" or (role == "dpo" and random.random() < 0.3):  # noqa: S311
            record.timed("GET /audit", session.get, "/audit", {"site": site, "limit": 20})
            continue
        if random.random() < 0.2:  # noqa: S311
            record.timed("GET /sites", session.get, "/sites")
            continue
        camera = random.choice(cameras)  # noqa: S311
        listed = record.timed("GET /cameras/{id}/clips", session.get, f"/cameras/{camera}/clips", window)
        clips = listed.body.get("clips", []) if listed.status == 200 else []
        if clips:
            clip_id = random.choice(clips)["clip_id"]  # noqa: S311
            record.timed("POST /clips/{id}/view", session.post, f"/clips/{clip_id}/view", {"purpose": PURPOSE})


def gateway_loop(api_url: str, gateway: BenchGateway, record: Latencies, stop: threading.Event, pace: Pace) -> None:
    auth = {"Authorization": f"Bearer {gateway.token}"}
    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    number = 0
    while not pace.wait(stop, pace.gateway_s):
        clip = gateway.clips[number % len(gateway.clips)]
        end = ended + timedelta(seconds=3 * number)  # each registration a recording of its own
        number += 1
        body = {
            "camera_id": gateway.camera_id,
            "start": (end - timedelta(seconds=2)).isoformat(),
            "end": end.isoformat(),
            "size": clip.stat().st_size,
            "sha256": sha256_of(clip),
        }
        registered = record.timed("POST /gateway/clips", http, "POST", f"{api_url}/gateway/clips", body, auth)
        upload = registered.body.get("upload") if registered.status in {200, 201} else None
        if upload:
            record.timed("PUT clip (S3, presigned)", put_to_s3, upload, clip)
            state = f"{api_url}/gateway/clips/{registered.body['clip_id']}"
            record.timed("GET /gateway/clips/{id}", http, "GET", state, None, auth)
        beat = {"version": "bench", "spool_clips": 0, "spool_bytes": 0}
        record.timed("POST /gateway/heartbeat", http, "POST", f"{api_url}/gateway/heartbeat", beat, auth)


def put_to_s3(upload: dict[str, Any], clip: Path) -> Answer:
    try:
        return Answer(status=put_clip(upload, clip), body=None, headers={})
    except urllib.error.HTTPError as error:
        return Answer(status=error.code, body=None, headers={})


def health_loop(api_url: str, record: Latencies, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        record.timed("GET /health (baseline)", http, "GET", f"{api_url}/health")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def latency_table(record: Latencies, seconds: float) -> int:
    """The table; the number of requests that failed (5xx, or no answer)."""
    base = record.seconds["GET /health (baseline)"]
    base_p50, base_p99 = percentile(base, 50), percentile(base, 99)
    print(f"| request ({seconds:.0f} s under load) | n | 5xx | no answer | p50 ms | p99 ms | p50 ratio | p99 ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, values in sorted(record.seconds.items(), key=lambda item: "" if "baseline" in item[0] else item[0]):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(
            f"| {kind} | {len(values)} | {record.server_errors[kind]} | {record.unanswered[kind]} "
            f"| {p50 * 1000:.0f} | {p99 * 1000:.0f} | {p50 / base_p50:.1f} | {p99 / base_p99:.1f} |"
        )
    total = sum(len(values) for values in record.seconds.values())
    failed = sum(record.server_errors.values()) + sum(record.unanswered.values())
    print(f"\n{total} requests, {total / seconds:.0f}/s, {failed} failed (5xx or no answer within 30 s)\n")
    return failed


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def process_table(
    pids: dict[str, int], before: dict[str, tuple[float, float]], seconds: float, max_growth_mb: float
) -> list[str]:
    """The processes' memory and CPU during the load; those whose memory grew beyond `max_growth_mb`."""
    print("| local process | RSS before the load MB | RSS after MB | growth MB | peak (VmHWM) MB | CPU % of a core |")
    print("|---|---:|---:|---:|---:|---:|")
    grown = []
    for name, pid in pids.items():
        (rss_before, cpu_before), now, peak = before[name], rss_mb(pid, "VmRSS"), rss_mb(pid, "VmHWM")
        cpu = (cpu_seconds(pid) - cpu_before) / seconds * 100
        print(f"| {name} | {rss_before:.0f} | {now:.0f} | {now - rss_before:+.0f} | {peak:.0f} | {cpu:.0f} |")
        if now - rss_before > max_growth_mb:
            grown.append(f"{name} (pid {pid}) grew {now - rss_before:+.0f} MB during the load, to {now:.0f} MB")
    return grown


@contextlib.contextmanager
def run_local(run_dir: Path) -> Iterator[dict[str, Any]]:
    """`python -m local run` in a process of its own (as `scripts/run-local` runs it, data kept), while the
    block runs; its run-info, with its own pid beside its children's."""
    running = subprocess.Popen(
        [sys.executable, "-m", "local", "run", "--run-dir", str(run_dir), "--no-simulator"]
        + ["--api-port", "0", "--aws-port", "0", "--retention-every", "3600"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    info_file = run_dir / "run-info.json"
    try:
        deadline = time.monotonic() + 300
        while not info_file.exists():
            if running.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the local archive did not start")
            time.sleep(0.2)
        info: dict[str, Any] = json.loads(info_file.read_text())
        info["pids"] = {"run-local": running.pid} | info["pids"]
        yield info
    finally:
        running.send_signal(signal.SIGINT)
        running.wait(timeout=300)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--officials", type=int, default=50)
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think-s", type=float, default=3.0, help="mean pause of an official between requests")
    parser.add_argument("--clip-every-s", type=float, default=2.0, help="mean pause of a gateway between clips")
    parser.add_argument(
        "--max-growth-mb",
        type=float,
        default=300.0,
        help="the most a local process's memory may grow during the load (moto once grew by gigabytes)",
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, run_local(Path(work) / "run") as info:
        api = ApiClient(info["api_url"], AwsEndpoint(info["aws_endpoint"]), info["user_pool_client_id"])
        gateways = enrol(api, arguments.gateways, Path(work))
        sessions = officials(info, api, arguments.officials)
        cameras = {site: [g.camera_id for g in gateways if g.site == site] for site in SITES}
        record, stop, pace = Latencies(), threading.Event(), Pace(arguments.think_s, arguments.clip_every_s)
        api_url = info["api_url"]
        threads = [threading.Thread(target=health_loop, args=(api_url, record, stop))]
        threads += [threading.Thread(target=gateway_loop, args=(api_url, g, record, stop, pace)) for g in gateways]
        threads += [
            threading.Thread(target=official_loop, args=(role, site, session, cameras[site], record, stop, pace))
            for role, site, session in sessions
        ]
        before = {name: (rss_mb(pid, "VmRSS"), cpu_seconds(pid)) for name, pid in info["pids"].items()}
        for thread in threads:
            thread.start()
        time.sleep(arguments.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        print(
            f"{arguments.officials} officials (a request every {arguments.think_s:g} s each, on average), "
            f"{arguments.gateways} gateways (a clip every {arguments.clip_every_s:g} s each), on 127.0.0.1\n"
        )
        failed = latency_table(record, arguments.seconds)
        grown = process_table(info["pids"], before, arguments.seconds, arguments.max_growth_mb)
    for process in grown:
        print(f"FAILED: {process}, beyond the bound of {arguments.max_growth_mb:g} MB")
    return 1 if failed or grown else 0


if __name__ == "__main__":
    sys.exit(main())
