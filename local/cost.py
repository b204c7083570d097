"""What a camera costs per month on AWS, from the AWS requests its clips make on the local stack.

Run: `scripts/cost [--mbps 2] [--retention-days 7] [--clip-seconds 60] [--sealed] [--cameras 10000]`.

It starts the local archive with every AWS request its functions make written down (local/call_log.py),
sends `--clips` clips as the gateway agent does on AWS (register, PUT, and "received?" after a multipart
upload only; sealed to the site's key with --sealed), waits until they are indexed, lets retention expire
them (a sweep with nothing due first, to tell a sweep's own cost from each clip's), and counts per clip every
request by service and operation, with DynamoDB's capacity units, plus what AWS does on the functions' behalf: S3's
notification into SQS, the event source's receive and delete, Lambda invocations (API handler and
authorizer per API request), API Gateway requests, bytes logged. Lambda time: each invocation's CPU time
locally (local/jobs.py reports it) and its requests' time on AWS (an assumed latency and transfer rate; not
the wall time here, which on this shared machine holds waits for a CPU that Lambda does not have), billed at
the memory and architecture infra/template.yaml sets; a function below 1769 MB has less than one vCPU, so its
CPU time is stretched by 1769/memory.
Prices: infra/prices/eu-north-1.json (with its sources and date). Storage: the clip and its stills held
for the retention period. The storage floor is the footage alone, held that long.

Fixed costs of a deployment (keys, secret, firewall, schedules) are listed in the bill for `--cameras`
cameras, not in the per-camera figure of the last line.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyrage
import yaml
from pyrage import x25519

from chalicelib.config import Settings
from chalicelib.domain.timeutil import parse_time
from gateway.agent.config import AgentConfig
from gateway.agent.sealing import part_digests
from gateway.clipmaker import make_clip
from gateway.uplink import put_clip, sha256_of
from local.api_client import Session
from local.call_log import ENV as CALL_LOG_ENV
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo

HOURS_PER_MONTH = 730  # AWS's month
GIB = 1 << 30
FULL_VCPU_MB = 1769  # Lambda gives one whole vCPU at this memory
HEARTBEAT_S = AgentConfig.heartbeat_seconds  # the agent's default
SEALING_KEY_CACHE_S = Settings.model_fields["sealing_key_cache_seconds"].default
PLATFORM_LOG_BYTES = 330  # Lambda's START, END and REPORT lines of one invocation
SITE, CAMERA = "aizkraukle", "aizkraukle-square"
# The local jobs process's other threads run on a timer, whatever the clips: fixed costs, not per clip.
TIMER_THREADS = {"schedules", "access-log", "make_exports"}


# What a request takes on AWS from a function in the same region (first byte, for a streamed answer), and how
# fast it uploads: assumed, in place of the local stack's, which a single-threaded moto on a shared machine makes
# far slower. Each figure is printed beside the local one.
AWS_LATENCY_S = {"dynamodb": 0.008, "s3": 0.025, "sqs": 0.010, "secretsmanager": 0.020, "kms": 0.015}
S3_BYTES_PER_S = 80e6  # a function's transfer to or from S3, one stream
# The event source's own requests, made outside the function's invocation.
EVENT_SOURCE_OPERATIONS = {"ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"}


@dataclass
class Calls:
    """AWS requests counted, by (service, operation), with DynamoDB's capacity units and their time."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    wru: float = 0.0
    rru: float = 0.0
    messages: int = 0  # SQS messages the ingest queue delivered (one per S3 notification)
    local_s: float = 0.0  # the time the callers waited for them here
    aws_s: float = 0.0  # the time they would take on AWS (AWS_LATENCY_S)

    def add(self, line: dict[str, Any]) -> None:
        if line["service"] == "sqs" and line["operation"] == "ReceiveMessage":
            if not line.get("messages"):
                return  # the event source's idle polling: a fixed cost
            self.messages += line["messages"]
        self.requests[(line["service"], line["operation"])] += 1
        self.wru += line.get("wru", 0)
        self.rru += line.get("rru", 0)
        self.local_s += line.get("ms", 0) / 1000
        moved = line.get("bytes_out", 0) + line.get("bytes_in", 0)
        self.aws_s += AWS_LATENCY_S.get(line["service"], 0.02) + moved / S3_BYTES_PER_S

    def minus(self, other: Calls) -> Calls:
        return Calls(
            self.requests - other.requests,
            self.wru - other.wru,
            self.rru - other.rru,
            self.messages - other.messages,
            self.local_s - other.local_s,
            self.aws_s - other.aws_s,
        )

    def plus(self, other: Calls) -> Calls:
        return Calls(
            self.requests + other.requests,
            self.wru + other.wru,
            self.rru + other.rru,
            self.messages + other.messages,
            self.local_s + other.local_s,
            self.aws_s + other.aws_s,
        )


@dataclass
class Invocations:
    """A function's invocations as local/jobs.py reports them, with the AWS requests they made."""

    count: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_mb: float = 0.0
    calls: Calls = field(default_factory=Calls)
    # Requests made on a thread beside the invocation's own (ingest's upload of a sealed clip's plaintext).
    overlapped: Calls = field(default_factory=Calls)
    timed_by_cpu: bool = True  # False: the CPU time is not measured here (the API's, as the gateway waited)

    @property
    def aws_wall_s(self) -> float:
        """The wall time on AWS. A function's: its CPU time here and its requests' time on AWS (AWS_LATENCY_S,
        bytes at S3_BYTES_PER_S), those on a thread beside its own added too, as if waited for (an upper
        bound); not its wall time here, which on a shared machine also holds its wait for a CPU. The API's:
        the gateway's wait, the local stack's request times replaced by AWS's."""
        if self.timed_by_cpu:
            return self.cpu_s + self.calls.aws_s + self.overlapped.aws_s
        return self.wall_s - self.calls.local_s + self.calls.aws_s

    def gb_seconds(self, memory_mb: int) -> float:
        return gb_seconds(self.aws_wall_s, self.cpu_s, memory_mb)


@dataclass
class Measured:
    """Everything counted for `clips` clips."""

    clips: int
    calls: Calls
    api: Invocations  # the gateway's API requests: their wall time as it saw them
    ingest: Invocations
    sweep: Calls
    sweep_empty: Calls
    sweep_invocation: Invocations
    heartbeat: Calls
    log_bytes: int
    clip_bytes: int
    still_bytes: int
    item_bytes: int
    tombstone_bytes: int


@dataclass(frozen=True)
class Functions:
    """Memory (MB) and architecture of the functions, as infra/template.yaml sets them."""

    memory: dict[str, int]
    architecture: dict[str, str]

    @classmethod
    def from_template(cls, path: Path) -> Functions:
        """Memory from the overlay; the architecture Chalice packages for (prod stage) where the overlay sets none."""
        resources = yaml.safe_load(path.read_text(encoding="utf-8"))["Resources"]
        chalice = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
        packaged = chalice["stages"]["prod"].get("lambda_architecture", "x86_64")
        names = {"api": "APIHandler", "auth": "GatewayAuth", "ingest": "IngestClips", "retention": "ExpireRetention"}
        properties = {short: resources[name]["Properties"] for short, name in names.items()}
        return cls(
            memory={short: int(p["MemorySize"]) for short, p in properties.items()},
            architecture={short: p.get("Architectures", [packaged])[0] for short, p in properties.items()},
        )


def gb_seconds(wall_s: float, cpu_s: float, memory_mb: int) -> float:
    """Billed GB-s of work that took `wall_s` here, `cpu_s` of it on the CPU, run at `memory_mb`."""
    stretch = max(0.0, FULL_VCPU_MB / memory_mb - 1)
    return (wall_s + cpu_s * stretch) * memory_mb / 1024


# ---- running clips through the local archive ----------------------------------------------------------------------


class CallLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self) -> int:
        return sum(1 for _ in self.path.open(encoding="utf-8")) if self.path.exists() else 0

    def since(
        self, mark: int, end: int | None = None, keep: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> Calls:
        calls = Calls()
        with self.path.open(encoding="utf-8") as log:
            for number, raw in enumerate(log):
                if number < mark or (end is not None and number >= end):
                    continue
                line = json.loads(raw)
                if keep(line):
                    calls.add(line)
        return calls


def per_clip_call(line: dict[str, Any]) -> bool:
    return line["thread"] not in TIMER_THREADS


def logged_bytes(log: Path, start_byte: int) -> int:
    """Bytes of what CloudWatch Logs would take in from `log` after `start_byte`: the functions' JSON lines
    (and API Gateway's access log), not the local servers' own lines nor local/jobs.py's invocation reports
    (Lambda's REPORT lines are counted apart, PLATFORM_LOG_BYTES an invocation)."""
    return sum(
        len(raw)
        for raw, line in _json_lines(log, start_byte)
        if isinstance(line, dict) and line.get("message") != "invocation"
    )


def invocations(log: Path, start_byte: int, function: str, calls: Calls) -> Invocations:
    """The local Lambda REPORT lines (local/jobs.py) of `function` written after `start_byte`, which made `calls`."""
    found = Invocations(calls=calls)
    for _, line in _json_lines(log, start_byte):
        if isinstance(line, dict) and line.get("message") == "invocation" and line.get("function") == function:
            found.count += 1
            found.wall_s += line["duration_ms"] / 1000
            found.cpu_s += line["cpu_ms"] / 1000
            found.max_rss_mb = max(found.max_rss_mb, line["max_rss_mb"])
    return found


def _json_lines(log: Path, start_byte: int) -> Iterator[tuple[bytes, Any]]:
    """Each line of `log` after `start_byte` that is JSON, raw and parsed (the servers' own lines are not)."""
    with log.open("rb") as lines:
        lines.seek(start_byte)
        for raw in lines:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            yield raw, line


def make_clips(work: Path, count: int, seconds: int, mbps: float) -> list[Path]:
    """`count` distinct real clips of `seconds`, each grown to `mbps` with an ISO-BMFF `free` box of its own."""
    base = work / "base.mp4"
    make_clip(base, seconds=seconds, width=1280, height=720, fps=25, label="cost")
    target = int(mbps * 1e6 / 8 * seconds)
    clips = []
    for number in range(count):
        clip = work / f"clip-{number:03d}.mp4"
        shutil.copyfile(base, clip)
        padding = max(16, target - base.stat().st_size)
        with clip.open("ab") as grown:
            grown.write(struct.pack(">I4s", padding, b"free") + number.to_bytes(8, "big") + bytes(padding - 16))
        clips.append(clip)
    return clips


class Gateway:
    """The agent's requests for one clip, timed as the gateway sees them."""

    def __init__(self, info: RunInfo, sealed: bool, work: Path) -> None:
        self.session = Session(info.api_url, info.gateways[SITE]["token"])
        self.recipient = x25519.Recipient.from_str(info.gateways[SITE]["site_recipient"]) if sealed else None
        self.work = work
        self.requests = 0
        self.in_parts: list[str] = []  # clips S3's answers do not vouch for: the agent asks "received?"
        self.seconds = 0.0
        self._sha256: dict[Path, str] = {}

    def _api(self, method: str, path: str, body: Any = None) -> Any:
        started = time.perf_counter()
        answer = self.session.request(method, path, body)
        self.seconds += time.perf_counter() - started
        self.requests += 1
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.body}")
        return answer.body

    def sealed(self, clip: Path) -> Path:
        """What the agent uploads for `clip`: the clip itself, or (sealing) its age file; both hashed, as the
        agent does when it spools."""
        upload = clip
        if self.recipient is not None:
            upload = self.work / f"{clip.name}.age"
            pyrage.encrypt_file(str(clip), str(upload), [self.recipient])
        for path in {clip, upload}:
            self._sha256[path] = sha256_of(path)
        return upload

    def send(self, clip: Path, start: datetime, seconds: int, upload: Path | None = None) -> str:
        """Register `clip` and upload it (or `upload`, its sealed file made beforehand); its id."""
        upload = upload or self.sealed(clip)
        body: dict[str, Any] = {
            "camera_id": CAMERA,
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=seconds)).isoformat(),
            "size": clip.stat().st_size,
            "sha256": self._sha256[clip],
        }
        if upload != clip:
            body["sealed"] = {"size": upload.stat().st_size, "sha256": self._sha256[upload]}
        registered = self._api("POST", "/gateway/clips", body)
        if registered["multipart"]:
            self._parts(registered, upload)
            self.in_parts.append(str(registered["clip_id"]))
        else:
            put_clip(registered["upload"], upload)
        return str(registered["clip_id"])

    def _parts(self, registered: dict[str, Any], upload: Path) -> None:
        clip_id, part_size = registered["clip_id"], registered["part_size"]
        plan = self._api(
            "POST", f"/gateway/clips/{clip_id}/multipart", {"part_sha256": part_digests(upload, part_size)}
        )
        with upload.open("rb") as data:
            for ticket in plan["parts"]:
                data.seek((ticket["part_number"] - 1) * part_size)
                put_clip(ticket | {"method": "PUT"}, _window(data.read(part_size), self.work))
        self._api("POST", f"/gateway/clips/{clip_id}/multipart/complete")

    def received(self, clip_id: str) -> bool:
        return bool(self._api("GET", f"/gateway/clips/{clip_id}")["received"])

    def heartbeat(self) -> None:
        self._api("POST", "/gateway/heartbeat", {"version": "cost", "spool_clips": 0})


def _window(data: bytes, work: Path) -> Path:
    part = work / "part"
    part.write_bytes(data)
    return part


def wait_status(info: RunInfo, clip_ids: list[str], timeout_s: float = 600) -> None:
    dynamodb, _ = _table(info)
    deadline = time.monotonic() + timeout_s
    for clip_id in clip_ids:
        while True:
            item = dynamodb.get_item(TableName=info.environment["SAFE_CLIPS_TABLE"], Key={"clip_id": {"S": clip_id}})
            status = item["Item"]["status"]["S"]
            if status in ("indexed", "quarantined"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"clip {clip_id} was not indexed in time")
            time.sleep(0.1)
        if status != "indexed":
            raise RuntimeError(f"clip {clip_id} was quarantined")


def sweep(info: RunInfo, at: datetime) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "local.jobs", "fire", "expire_retention", "--at", at.isoformat()],
        env=info.environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lines = result.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1])
    invocation = next(json.loads(line) for line in lines if '"invocation"' in line)
    return report | {"invocation": invocation}


def measure(arguments: argparse.Namespace, functions: Functions, work: Path) -> Measured:
    clips = make_clips(work, arguments.clips, arguments.clip_seconds, arguments.mbps)
    log = CallLog(work / "calls.jsonl")
    options = LocalOptions(
        workdir=work / "run",
        simulator=False,
        retention_every_s=10**6,
        extra_environment={CALL_LOG_ENV: str(log.path), "PYTHONPATH": f"{ROOT / 'local' / 'call_log_site'}:{ROOT}"},
    )
    with LocalArchive(options) as archive:
        assert archive.info is not None
        info = archive.info
        gateway = Gateway(info, arguments.sealed, work)
        logs = [Path(info.logs[name]) for name in ("api", "jobs")] + [work / "run" / "api-access.jsonl"]
        mark, log_sizes = log.mark(), [path.stat().st_size for path in logs]
        jobs_start = Path(info.logs["jobs"]).stat().st_size
        first_end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
        starts = [first_end - timedelta(seconds=arguments.clip_seconds * (n + 1)) for n in range(len(clips))]
        clip_ids = [
            gateway.send(clip, start, arguments.clip_seconds) for clip, start in zip(clips, starts, strict=True)
        ]
        # Watched in the table, with the command's own client: polling through the API would bill requests
        # (and their reads) that an agent never makes.
        wait_status(info, clip_ids)
        # The agent asks once after a multipart upload only: S3's answer to a checksummed PUT vouches for the bytes.
        if not all(gateway.received(clip_id) for clip_id in gateway.in_parts):
            raise RuntimeError("a clip indexed but not received")
        time.sleep(1.5)  # the opened clips' own notifications (sealed) are handled
        calls = log.since(mark, keep=per_clip_call)
        ingest_calls = log.since(mark, keep=lambda line: line["thread"] == "ingest_clips")
        api_calls = log.since(mark, keep=lambda line: line["pid"] == info.pids["api"])
        log_bytes = sum(logged_bytes(path, size) for path, size in zip(logs, log_sizes, strict=True))
        ingest = invocations(Path(info.logs["jobs"]), jobs_start, "ingest_clips", ingest_calls)
        ingest.overlapped = log.since(mark, keep=lambda line: line["thread"].startswith("ingest_clips."))
        api = Invocations(count=gateway.requests, wall_s=gateway.seconds, calls=api_calls, timed_by_cpu=False)

        mark = log.mark()
        gateway.heartbeat()
        heartbeat = log.since(mark, keep=per_clip_call)

        still_bytes, item_bytes = stored_sizes(info, clip_ids)
        retained = [retain_until(info, clip_id) for clip_id in clip_ids]
        mark = log.mark()
        empty = sweep(info, datetime.now(UTC))
        sweep_empty = log.since(mark, keep=per_clip_call)
        mark = log.mark()
        swept = sweep(info, max(retained) + timedelta(seconds=1))
        if swept["expired"] != len(clip_ids):
            raise RuntimeError(f"the sweep expired {swept['expired']} of {len(clip_ids)} clips")
        full = log.since(mark, keep=per_clip_call)
        _, tombstone_bytes = stored_sizes(info, clip_ids[:1])
        # What the clips add to a sweep's time (a sweep with nothing due runs anyway, every hour).
        added = {
            key: max(0.0, swept["invocation"][key] - empty["invocation"][key]) / 1000
            for key in ("duration_ms", "cpu_ms")
        }
        sweep_calls = full.minus(sweep_empty)
        per_clip_sweep = Invocations(wall_s=added["duration_ms"], cpu_s=added["cpu_ms"], calls=sweep_calls)
    return Measured(
        clips=len(clip_ids),
        calls=calls,
        api=api,
        ingest=ingest,
        sweep=sweep_calls,
        sweep_empty=sweep_empty,
        sweep_invocation=per_clip_sweep,
        heartbeat=heartbeat,
        log_bytes=log_bytes,
        clip_bytes=clips[0].stat().st_size,
        still_bytes=still_bytes,
        item_bytes=item_bytes,
        tombstone_bytes=tombstone_bytes,
    )


def _table(info: RunInfo) -> Any:
    from local.aws import AwsEndpoint

    return AwsEndpoint(info.aws_endpoint).client("dynamodb"), AwsEndpoint(info.aws_endpoint).client("s3")


def retain_until(info: RunInfo, clip_id: str) -> datetime:
    dynamodb, _ = _table(info)
    item = dynamodb.get_item(TableName=info.environment["SAFE_CLIPS_TABLE"], Key={"clip_id": {"S": clip_id}})["Item"]
    return parse_time(item["retain_until"]["S"])


def stored_sizes(info: RunInfo, clip_ids: list[str]) -> tuple[int, int]:
    """Average bytes of a clip's stills in S3 and of its index record in DynamoDB."""
    from local.call_log import item_size

    dynamodb, s3 = _table(info)
    stills = records = 0
    for clip_id in clip_ids:
        listed = s3.list_objects_v2(Bucket=info.clips_bucket, Prefix=f"thumbnails/{SITE}/{CAMERA}/{clip_id}/")
        stills += sum(entry["Size"] for entry in listed.get("Contents", []))
        item = dynamodb.get_item(TableName=info.environment["SAFE_CLIPS_TABLE"], Key={"clip_id": {"S": clip_id}})
        records += item_size(item["Item"])
    return stills // len(clip_ids), records // len(clip_ids)


# ---- prices ---------------------------------------------------------------------------------------------------------

_S3_PUT_CLASS = {
    "PutObject",
    "CopyObject",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "ListObjectVersions",
    "ListObjectsV2",
    "ListParts",
    "ListMultipartUploads",
    "DeleteObjects",  # a POST: billed as one, to be safe
    "PutObjectLegalHold",
}
_S3_FREE = {"DeleteObject", "AbortMultipartUpload"}


@dataclass(frozen=True)
class Row:
    service: str
    item: str
    per_clip: float  # how many per clip (requests, units, GB-s, bytes)
    usd_per_clip: float


def request_rows(measured: Measured, functions: Functions, prices: dict[str, Any], plan: Plan) -> list[Row]:
    """Every billed thing per clip: the counted requests, what AWS does for them, Lambda time, logs."""
    n = measured.clips
    calls = Calls(
        measured.calls.requests + measured.sweep.requests,
        measured.calls.wru + measured.sweep.wru,
        measured.calls.rru + measured.sweep.rru,
        measured.calls.messages,
    )
    rows: list[Row] = []
    s3 = prices["s3"]
    gateway_puts = Counter({("s3", "PutObject (the gateway's presigned PUT)"): n})
    for (service, operation), count in sorted((calls.requests + gateway_puts).items()):
        if service != "s3":
            continue
        name = operation.split(" ")[0]
        unit = (
            0.0
            if name in _S3_FREE
            else s3["put_copy_post_list_per_1000" if name in _S3_PUT_CLASS else "get_and_other_per_1000"] / 1000
        )
        rows.append(Row("S3", operation, count / n, count / n * unit))
    ddb = prices["dynamodb"]
    rows.append(
        Row(
            "DynamoDB",
            "write request units",
            calls.wru / n,
            calls.wru / n * ddb["write_request_unit_per_million"] / 1e6,
        )
    )
    rows.append(
        Row("DynamoDB", "read request units", calls.rru / n, calls.rru / n * ddb["read_request_unit_per_million"] / 1e6)
    )
    sqs = prices["sqs"]["requests_per_million"] / 1e6
    rows.append(Row("SQS", "SendMessage (S3's notification)", calls.messages / n, calls.messages / n * sqs))
    for operation in ("ReceiveMessage", "DeleteMessage"):
        polled = calls.requests.get(("sqs", operation), 0) / n
        rows.append(Row("SQS", f"{operation} (the event source)", polled, polled * sqs))
    api_per_clip = measured.api.count / n
    rows.append(
        Row(
            "API Gateway",
            "REST requests",
            api_per_clip,
            api_per_clip * prices["apigateway"]["rest_requests_per_million"] / 1e6,
        )
    )
    rows.append(
        Row("WAF", "requests inspected", api_per_clip, api_per_clip * prices["waf"]["requests_per_million"] / 1e6)
    )
    lam = prices["lambda"]
    invocations_per_clip = api_per_clip * 2 + measured.ingest.count / n
    rows.append(
        Row(
            "Lambda",
            "invocations (API, its authorizer, ingest)",
            invocations_per_clip,
            invocations_per_clip * lam["requests_per_million"] / 1e6,
        )
    )
    wall = measured.api.aws_wall_s / n
    for short, label, gbs in (
        ("api", "API handler", gb_seconds(wall, 0.0, functions.memory["api"])),
        ("auth", "gateway authorizer", gb_seconds(wall, 0.0, functions.memory["auth"])),
        ("ingest", "ingest", measured.ingest.gb_seconds(functions.memory["ingest"]) / n),
        ("retention", "expiry", measured.sweep_invocation.gb_seconds(functions.memory["retention"]) / n),
    ):
        memory, architecture = functions.memory[short], functions.architecture[short]
        rows.append(
            Row("Lambda", f"GB-s {label} ({memory} MB {architecture})", gbs, gbs * lam[f"{architecture}_gb_second"])
        )
    # A site's keys are read by a warm ingest function once per cache period, not per clip: what the clips
    # here read (their first found none cached) is scaled to a read's share of a clip in the deployment.
    reads = calls.requests.get(("secretsmanager", "ListSecrets"), 0)
    share = key_reads_per_clip(plan, ingest_concurrency(measured, plan)) / reads if reads else 0.0
    for operation in ("ListSecrets", "GetSecretValue"):
        read = calls.requests.get(("secretsmanager", operation), 0) * share
        if read:
            what = f"{operation} (a site's keys, once per warm function and {SEALING_KEY_CACHE_S / 60:g} min)"
            rows.append(
                Row("Secrets Manager", what, read, read * prices["secretsmanager"]["api_calls_per_10000"] / 1e4)
            )
    secrets = calls.requests.get(("secretsmanager", "GetSecretValue"), 0) * share
    kms = secrets + sum(count for (service, _), count in calls.requests.items() if service == "kms") / n
    rows.append(
        Row(
            "KMS",
            "requests (a secret read decrypts; S3 Bucket Keys spare one per object)",
            kms,
            kms * prices["kms"]["requests_per_10000"] / 1e4,
        )
    )
    log_bytes = (measured.log_bytes + (measured.api.count * 2 + measured.ingest.count) * PLATFORM_LOG_BYTES) / n
    logs = prices["logs"]
    rows.append(
        Row(
            "CloudWatch Logs",
            "bytes ingested and kept 90 days",
            log_bytes,
            log_bytes / 1e9 * (logs["ingestion_gb"] + 3 * logs["storage_gb_month"]),
        )
    )
    return rows


@dataclass(frozen=True)
class Plan:
    mbps: float
    retention_days: float
    clip_seconds: int
    cameras: int
    cameras_per_gateway: int
    cameras_per_site: int
    burst: float

    @property
    def sites(self) -> int:
        return -(-self.cameras // self.cameras_per_site)

    @property
    def clips_per_month(self) -> float:
        return HOURS_PER_MONTH * 3600 / self.clip_seconds

    @property
    def clips_held(self) -> float:
        return self.retention_days * 86400 / self.clip_seconds


def heartbeat_usd(measured: Measured, functions: Functions, prices: dict[str, Any], plan: Plan) -> float:
    """A gateway's heartbeat every 30 s, shared by its cameras: one API request and what it writes."""
    per_month = HOURS_PER_MONTH * 3600 / HEARTBEAT_S / plan.cameras_per_gateway
    wall = measured.api.aws_wall_s / measured.api.count
    lam = prices["lambda"]
    one = (
        prices["apigateway"]["rest_requests_per_million"] / 1e6
        + prices["waf"]["requests_per_million"] / 1e6
        + 2 * lam["requests_per_million"] / 1e6
        + sum(
            gb_seconds(wall, 0, functions.memory[f]) * lam[f"{functions.architecture[f]}_gb_second"]
            for f in ("api", "auth")
        )
        + measured.heartbeat.wru * prices["dynamodb"]["write_request_unit_per_million"] / 1e6
        + measured.heartbeat.rru * prices["dynamodb"]["read_request_unit_per_million"] / 1e6
    )
    return one * per_month


def storage_rows(measured: Measured, prices: dict[str, Any], plan: Plan) -> list[Row]:
    """Per camera-month: what is held for the retention period (a clip's `per_clip` is its bytes)."""
    held = plan.clips_held
    s3 = prices["s3"]["storage_gb_month"]
    ddb = prices["dynamodb"]["storage_gb_month"]
    return [
        Row("S3", "storage: footage (the floor)", measured.clip_bytes, held * measured.clip_bytes / GIB * s3),
        Row("S3", "storage: stills", measured.still_bytes, held * measured.still_bytes / GIB * s3),
        Row("DynamoDB", "storage: clip records", measured.item_bytes, held * measured.item_bytes / GIB * ddb),
        Row(
            "DynamoDB",
            "storage: the month's tombstones (they stay)",
            measured.tombstone_bytes,
            plan.clips_per_month * measured.tombstone_bytes / GIB * ddb,
        ),
    ]


def fixed_usd(measured: Measured, prices: dict[str, Any], plan: Plan) -> list[tuple[str, float]]:
    """A deployment's own monthly costs, whatever its cameras, and its sites' (a sealing key each)."""
    sweeps = HOURS_PER_MONTH
    empty = measured.sweep_empty
    sweep_usd = sweeps * (
        empty.wru * prices["dynamodb"]["write_request_unit_per_million"] / 1e6
        + empty.rru * prices["dynamodb"]["read_request_unit_per_million"] / 1e6
        + prices["lambda"]["requests_per_million"] / 1e6
    )
    # The event source long-polls each queue with 5 pollers, 20 s per poll, whether clips come or not.
    polling = 2 * 5 * HOURS_PER_MONTH * 180 * prices["sqs"]["requests_per_million"] / 1e6
    return [
        ("KMS keys: clips, audit signing", 2 * prices["kms"]["key_month"]),
        (f"Secrets Manager: {plan.sites:,} sites' sealing keys", plan.sites * prices["secretsmanager"]["secret_month"]),
        ("WAF: web ACL and its rate rule", prices["waf"]["web_acl_month"] + prices["waf"]["rule_month"]),
        ("retention sweeps, hourly (with nothing due)", sweep_usd),
        ("SQS: the event sources' polling of two queues", polling),
    ]


def ingest_concurrency(measured: Measured, plan: Plan) -> float:
    """Steady concurrent ingest executions for `plan.cameras` cameras (Little's law)."""
    return plan.cameras / plan.clip_seconds * measured.ingest.aws_wall_s / measured.clips


def key_reads_per_clip(plan: Plan, warm_functions: float) -> float:
    """How often a sealed clip's ingest reads its site's keys: SQS hands each clip to any of the W warm
    functions, and a function reads a site's keys at its first clip of the site in a cache period; a site
    whose C clips arrive per period is read W·(1 − e^(−C/W)) times in it (C clips thrown at W functions)."""
    warm = max(1.0, warm_functions)
    clips = plan.cameras_per_site * SEALING_KEY_CACHE_S / plan.clip_seconds
    return warm * (1 - math.exp(-clips / warm)) / clips


def concurrency(measured: Measured, functions: Functions, plan: Plan) -> list[tuple[str, float, float]]:
    """(function, steady, burst) concurrent executions for `plan.cameras` cameras (Little's law)."""
    clips_per_s = plan.cameras / plan.clip_seconds
    ingest = ingest_concurrency(measured, plan)
    api_per_s = (
        clips_per_s * measured.api.count / measured.clips + plan.cameras / plan.cameras_per_gateway / HEARTBEAT_S
    )
    api_s = measured.api.aws_wall_s / measured.api.count
    return [
        ("ingest", ingest, ingest * plan.burst),
        ("API handler + authorizer", 2 * api_per_s * api_s, 2 * api_per_s * api_s * plan.burst),
        ("API requests per second", api_per_s, api_per_s * plan.burst),
    ]


def report(measured: Measured, functions: Functions, prices: dict[str, Any], plan: Plan, sealed: bool) -> list[str]:
    eur = prices["eur_per_usd"]
    rows = request_rows(measured, functions, prices, plan)
    per_month = plan.clips_per_month
    stored = storage_rows(measured, prices, plan)
    heartbeat = heartbeat_usd(measured, functions, prices, plan)
    ingest, n = measured.ingest, measured.clips
    lines = [
        f"{n} clips of {plan.clip_seconds} s at {plan.mbps:g} Mbit/s ({measured.clip_bytes / 1e6:.1f} MB), "
        f"{'sealed' if sealed else 'plain'}, kept {plan.retention_days:g} days; {per_month:,.0f} clips per "
        f"camera-month; prices of {prices['region']} recorded {prices['recorded']} "
        f"(infra/prices/{prices['region']}.json), €{eur:g} per USD",
        f"ingest per clip: {ingest.wall_s / n:.2f} s here, {ingest.calls.local_s / n:.2f} s of it waiting on "
        f"{ingest.calls.requests.total() / n:.1f} requests to the local stack; {ingest.cpu_s / n:.2f} s CPU; "
        f"on AWS ≈ {ingest.aws_wall_s / n:.2f} s (its CPU time, its requests at AWS_LATENCY_S); "
        f"{ingest.count} invocations, "
        f"peak RSS {ingest.max_rss_mb:.0f} MB (the worker process)",
        f"API request: {measured.api.wall_s / measured.api.count:.3f} s as the gateway saw it here, on AWS ≈ "
        f"{measured.api.aws_wall_s / measured.api.count:.3f} s",
        "",
        "| service | what | per clip | € per camera-month |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {r.service} | {r.item} | {r.per_clip:,.4g} | {r.usd_per_clip * per_month * eur:.3f} |" for r in rows]
    shared = f"the gateway's heartbeat every {HEARTBEAT_S:g} s, shared by {plan.cameras_per_gateway} cameras"
    lines.append(f"| API Gateway, Lambda, DynamoDB | {shared} | — | {heartbeat * eur:.3f} |")
    lines += [f"| {r.service} | {r.item} | {r.per_clip:,.0f} B | {r.usd_per_clip * eur:.3f} |" for r in stored]
    requests_usd = sum(r.usd_per_clip for r in rows) * per_month + heartbeat
    floor_usd = stored[0].usd_per_clip
    total_usd = requests_usd + sum(r.usd_per_clip for r in stored)
    by_service = Counter[str]()
    for r in rows:
        by_service[r.service] += r.usd_per_clip * per_month * eur
    for r in stored:
        by_service[f"{r.service} storage"] += r.usd_per_clip * eur
    lines += ["", "| service | € per camera-month | share |", "|---|---:|---:|"]
    lines += [f"| {service} | {usd:.3f} | {usd / (total_usd * eur):.1%} |" for service, usd in by_service.most_common()]
    fixed = fixed_usd(measured, prices, plan)
    bill = total_usd * plan.cameras + sum(usd for _, usd in fixed)
    lines += ["", f"| bill for {plan.cameras:,} cameras | € per month |", "|---|---:|"]
    lines.append(f"| {plan.cameras:,} cameras × €{total_usd * eur:.2f} | {total_usd * plan.cameras * eur:,.2f} |")
    lines += [f"| fixed: {name} | {usd * eur:,.2f} |" for name, usd in fixed]
    lines.append(f"| **total** | **{bill * eur:,.2f}** |")
    lines += ["", f"| {plan.cameras:,} cameras | steady | a backlog drained at {plan.burst:g}× |", "|---|---:|---:|"]
    lines += [
        f"| {name} | {steady:,.1f} | {burst:,.1f} |" for name, steady, burst in concurrency(measured, functions, plan)
    ]
    lines += ["", f"total: €{total_usd * eur:.2f} per camera-month = {total_usd / floor_usd:.2f}× the storage floor"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mbps", type=float, default=2.0, help="the camera's bitrate")
    parser.add_argument("--retention-days", type=float, default=7.0)
    parser.add_argument("--clip-seconds", type=int, default=60)
    parser.add_argument("--sealed", action="store_true", help="clips sealed at the edge, as the gateway agent sends")
    parser.add_argument("--cameras", type=int, default=10_000, help="for the bill and the peak concurrency")
    parser.add_argument("--cameras-per-gateway", type=int, default=3)
    parser.add_argument("--cameras-per-site", type=int, default=20, help="each site has its sealing key (a secret)")
    parser.add_argument("--burst", type=float, default=3.0, help="how much faster than real time a backlog drains")
    parser.add_argument("--clips", type=int, default=12, help="clips run through the local stack")
    parser.add_argument("--prices", type=Path, default=ROOT / "infra" / "prices" / "eu-north-1.json")
    arguments = parser.parse_args()
    functions = Functions.from_template(ROOT / "infra" / "template.yaml")
    prices = json.loads(arguments.prices.read_text(encoding="utf-8"))
    plan = Plan(
        arguments.mbps,
        arguments.retention_days,
        arguments.clip_seconds,
        arguments.cameras,
        arguments.cameras_per_gateway,
        arguments.cameras_per_site,
        arguments.burst,
    )
    with tempfile.TemporaryDirectory() as work:
        measured = measure(arguments, functions, Path(work))
    print("\n".join(report(measured, functions, prices, plan, arguments.sealed)))  # noqa: T201


if __name__ == "__main__":
    main()
