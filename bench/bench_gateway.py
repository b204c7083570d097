"""The gateway agent: sealing cost, and draining a backlog through a slow uplink.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_gateway.py [--clips 40] [--rtt-ms 100] [--before main] [--repeat 3]`.
Two tables, each with a baseline measured in the same run:
- seal and open 100 MB with age (pyrage) against copying the same file;
- draining a backlog of real clips (bench/corpus.py: Debian's ffmpeg, 720p H.264 10 s in its three layouts)
  through the test uplink proxy adding the round trip time, against bare presigned PUTs of the same files
  through the same proxy to a scratch bucket of the same moto server (URLs signed beforehand, the checksum
  signed in as the archive's are, sent by the agent's own HTTP client). Each at 1, 4 and 8 in flight; a
  ratio is against bare PUTs with as many in flight, and against the fastest bare PUTs. The agent's backlog
  is spooled while the link is down (sealed, as after an outage) and timed from the link's return until
  the spool is empty. Each run also says when its first PUT arrived beyond the link (the proxy's clock) and
  its ratio once under way: the bare PUTs' time from their first PUT on against the agent's, which leaves
  out what the agent pays once per outage before it can upload (below). `--before REF` adds the agent as
  of that git ref (its own code, the same archive and link), each right after the current agent with as
  many in flight, for a before/after in one run;
  `--repeat N` runs all of it N times over (a ratio is against the bare PUTs of its own run) and ends with
  each ratio's median and range, for a machine whose other work makes single runs noisy.
The ingest worker is paused (SIGSTOP) while anything is timed: its thumbnails would take the two cores the
uploads, the API and moto share, and neither side waits for it.

The agent registers its backlog ahead of the uploads, many clips a request (gateway/agent/ahead.py), so the
link's round trips are paid per batch, not per clip, and removes what the archive holds off the upload slots
(gateway/agent/receipts.py). What it still pays that bare PUTs do not: the time to notice the link is back
(its backoff, here at most 0.3 s), the first batch's registration before any upload (a tunnel and a request,
two round trips, and the archive's work: about 25 ms a request and 5 ms a clip locally, measured on
2026-12-06, where the local API answers one request at a time, so the first two batches' work adds up), one
durable sidecar write per clip before its PUT, and, locally only, the registrations' work in moto, whose one
process also answers every PUT (its PUTs come back a little slower at 8 in flight); on AWS that work is
API Gateway's, Lambda's and DynamoDB's. With 40 clips at 8 in flight (five rounds of PUTs) the first
registration alone costs about a round, so such a run stays under about 5/6 of bare PUTs signed beforehand,
less the time to notice the link: the first PUT goes out 0.4–0.6 s after the link is back (bare PUTs: 0.1 s,
their tunnel), and from then on the agent keeps the bare PUTs' pace (the "once under way" column).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519

from bench.code_before import code_as_of
from bench.corpus import CLIPS, corpus
from bench.timing import timed
from gateway.agent.api import ArchiveApi, UploadTicket
from gateway.agent.config import HttpProxy
from local.aws import AwsEndpoint
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo
from tests.uplink_proxy import UplinkProxy

MB = 1_000_000
CAMERA = "birzai-market"
SCRATCH_BUCKET = "bench-bare-puts"
IN_FLIGHT = (1, 4, 8)
BARE = "bare presigned PUTs"


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


@dataclass(frozen=True)
class Drained:
    what: str
    in_flight: int
    seconds: float
    first_put_s: float  # from the start to the first PUT's arrival beyond the link
    rss_mb: float | None = None

    @property
    def under_way_s(self) -> float:
        """From the first PUT on: the draining itself, without what comes before it."""
        return self.seconds - self.first_put_s


def first_put_after(proxy: UplinkProxy, started: float) -> float:
    first = proxy.first_since("^PUT ", started)
    if first is None:
        raise RuntimeError("no PUT went through the link")
    return first - started


def backlog(folder: Path, sources: list[Path], count: int, ended_before: timedelta) -> list[Path]:
    """`count` copies of the corpus clips as distinct 10 s recordings (12 s apart, the oldest first)."""
    folder.mkdir(parents=True)
    clips = []
    for number in range(count):
        clip = folder / f"clip-{number:04d}.mp4"
        shutil.copyfile(sources[number % len(sources)], clip)
        ended = (datetime.now(UTC) - ended_before + timedelta(seconds=12 * number)).timestamp()
        os.utime(clip, (ended, ended))
        clips.append(clip)
    return clips


def bare_puts(s3: Any, proxy: UplinkProxy, clips: list[Path], in_flight: int, run: int) -> Drained:
    """The floor: each file PUT once to a URL signed beforehand, `in_flight` at a time."""
    tickets = []
    for clip in clips:
        checksum = base64.b64encode(hashlib.sha256(clip.read_bytes()).digest()).decode()
        size = clip.stat().st_size
        params = {"Bucket": SCRATCH_BUCKET, "Key": f"bare/{run}/{clip.name}", "ContentLength": size}
        params |= {"ContentType": "video/mp4", "ChecksumSHA256": checksum}
        url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=3600)
        headers = {"Content-Length": str(size), "Content-Type": "video/mp4", "x-amz-checksum-sha256": checksum}
        tickets.append(UploadTicket(url, "PUT", headers, None))
    client = ArchiveApi("http://127.0.0.1:1", "gw-bench.unused", proxy=HttpProxy("127.0.0.1", proxy.port, None))
    started = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        vouched = list(pool.map(client.put, tickets, clips))
    seconds = time.perf_counter() - started
    if not all(vouched):
        raise RuntimeError("S3 did not answer every PUT with its checksum")
    return Drained(BARE, in_flight, seconds, first_put_after(proxy, started))


def agent_config(work: Path, archive: RunInfo, proxy: UplinkProxy, folder: Path, in_flight: int) -> Path:
    gateway = archive.gateways["birzai"]
    config = work / f"{folder.name}.toml"
    config.write_text(
        f'api_url = "{archive.api_url}"\nproxy_url = "{proxy.url}"\ntoken = "{gateway["token"]}"\n'
        f'site_recipient = "{gateway["site_recipient"]}"\nspool_dir = "{work / f"spool-{folder.name}"}"\n'
        "quota_bytes = 10_000_000_000\nmax_clip_age_days = 7\nheartbeat_seconds = 120\n"
        "poll_seconds = 0.2\nsettle_seconds = 0\nbackoff_base_seconds = 0.1\nbackoff_cap_seconds = 0.3\n"
        f'upload_concurrency = {in_flight}\n[[cameras]]\ncamera_id = "{CAMERA}"\nwatch_dir = "{folder}"\n'
    )
    return config


def agent_drain(
    work: Path, archive: RunInfo, proxy: UplinkProxy, clips: list[Path], in_flight: int, code: Path
) -> Drained:
    """The agent (the code at `code`) takes the backlog while the link is down, then drains it once it is back."""
    folder = clips[0].parent
    pending = work / f"spool-{folder.name}" / "pending"
    config = agent_config(work, archive, proxy, folder, in_flight)
    proxy.cut()
    agent = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        cwd=code,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(lambda: not any(folder.iterdir()) and len(list(pending.glob("*.json"))) == len(clips), agent)
        proxy.restore()
        started = time.perf_counter()
        wait(lambda: not any(pending.iterdir()), agent)
        seconds = time.perf_counter() - started
        rss = peak_rss_mb(agent.pid)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
    what = "agent" if code == ROOT else f"agent as of {code.name}"
    return Drained(what, in_flight, seconds, first_put_after(proxy, started), rss)


def wait(condition: Callable[[], bool], agent: subprocess.Popen[bytes], timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if agent.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the agent stopped or stalled (exit {agent.returncode})")
        time.sleep(0.01)


def drain_table(work: Path, count: int, rtt_ms: float, before: str | None, repeats: int) -> None:
    sources = list(corpus(tuple(clip.name for clip in CLIPS if clip.name.startswith("720p"))).values())
    older = code_as_of(before, work, "gateway", "chalicelib") if before else None
    codes = [ROOT, *([older] if older else [])]
    rows: list[tuple[int, Drained]] = []  # each with its repeat
    with LocalArchive(LocalOptions(workdir=work / "run", simulator=False, retention_every_s=3600)) as archive:
        assert archive.info is not None
        info = archive.info
        s3 = AwsEndpoint(info.aws_endpoint).client("s3")
        s3.create_bucket(Bucket=SCRATCH_BUCKET, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
        proxy = UplinkProxy(rtt_s=rtt_ms / 1000)
        os.kill(info.pids["jobs"], signal.SIGSTOP)  # no ingest while timing (see the module's doc)
        try:
            plain = backlog(work / "bare", sources, count, timedelta(hours=1))
            runs = itertools.count()
            for repeat in range(repeats):
                rows += [(repeat, bare_puts(s3, proxy, plain, in_flight, next(runs))) for in_flight in IN_FLIGHT]
                for in_flight, code in itertools.product(IN_FLIGHT, codes):
                    run = next(runs)
                    clips = backlog(work / f"nvr-{run}", sources, count, timedelta(hours=2 + run))
                    rows.append((repeat, agent_drain(work, info, proxy, clips, in_flight, code)))
        finally:
            proxy.close()
            os.kill(info.pids["jobs"], signal.SIGCONT)
    size_mb = sum(clip.stat().st_size for clip in plain) / MB
    bare = {(repeat, row.in_flight): row for repeat, row in rows if row.rss_mb is None}
    print(f"{count} clips of {size_mb / count:.2f} MB on average, through a link with {rtt_ms:.0f} ms round trips\n")
    print(
        "| | run | in flight | clips/s | MB/s | ratio: bare, as many in flight | ratio: fastest bare "
        "| first PUT after s | ratio once under way: from the first PUT on | peak RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for repeat, row in rows:
        rss = f"{row.rss_mb:.0f}" if row.rss_mb is not None else "—"
        fastest = min(other.seconds for (run, _), other in bare.items() if run == repeat)
        baseline = bare[repeat, row.in_flight]
        ratio, under_way = baseline.seconds / row.seconds, baseline.under_way_s / row.under_way_s
        ratios.setdefault((row.what, row.in_flight), []).append((ratio, under_way))
        rates = f"{count / row.seconds:.1f} | {size_mb / row.seconds:.2f} | {ratio:.2f} | {fastest / row.seconds:.2f}"
        first_put = f"{row.first_put_s:.3f} | {under_way:.2f}"
        print(f"| {row.what} | {repeat + 1} | {row.in_flight} | {rates} | {first_put} | {rss} |")
    print()
    if repeats > 1:
        print(
            "The runs' medians (lowest–highest)\n\n"
            "| | in flight | ratio: bare, as many in flight | once under way |\n|---|---:|---:|---:|"
        )
        for (what, in_flight), each in ratios.items():
            if what != BARE:
                whole, from_first_put = [w for w, _ in each], [u for _, u in each]
                print(f"| {what} | {in_flight} | {_spread(whole)} | {_spread(from_first_put)} |")
        print()


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=40, help="clips in each backlog")
    parser.add_argument("--rtt-ms", type=float, default=100.0, help="the uplink's round trip time")
    parser.add_argument("--before", help="also the agent as of this git ref (e.g. main)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of every measurement, alternating")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        sealing_table(Path(work))
        drain_table(Path(work), arguments.clips, arguments.rtt_ms, arguments.before, arguments.repeat)


if __name__ == "__main__":
    main()
