"""The cost command's counting (local/cost.py prices it): clips run through the local archive as the gateway
agent sends them, every AWS request their functions make read back from the call log (local/call_log.py) by
service and operation with DynamoDB's capacity units, each invocation's CPU and request time, the bytes logged
and stored.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
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

from chalicelib.domain.timeutil import parse_time
from gateway.agent.config import AgentConfig
from gateway.agent.sealing import part_digests
from gateway.clipmaker import make_clip
from gateway.uplink import put_clip, sha256_of
from local.api_client import Session
from local.aws import AwsEndpoint, wait_until_drained
from local.call_log import ENV as CALL_LOG_ENV
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo

FULL_VCPU_MB = 1769  # Lambda gives one whole vCPU at this memory
HEARTBEAT_S = AgentConfig.heartbeat_seconds  # the agent's default
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
    sweep: Invocations  # what the clips add to the sites' sweeps
    sweep_empty: Invocations  # the sites' sweeps an hour's schedule asks for, with nothing due (one each)
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
    timeout_s: dict[str, int]
    sites_swept_at_once: int  # the retention queue's event source: its maximum concurrency
    polled_queues: int  # queues an event source long-polls
    traced: bool  # active X-Ray tracing (.chalice/config.json's xray: the API stage and every function)
    alarms: int  # CloudWatch alarms of the template (the dead-letter queues')
    kms_keys: int  # KMS keys of the template (the clips', the audit signing key, the alarm topic's)

    @classmethod
    def from_template(cls, path: Path) -> Functions:
        """Memory from the overlay; the architecture Chalice packages for (prod stage) where the overlay sets none."""
        resources = yaml.safe_load(path.read_text(encoding="utf-8"))["Resources"]
        chalice = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
        packaged = chalice["stages"]["prod"].get("lambda_architecture", "x86_64")
        names = {"api": "APIHandler", "auth": "GatewayAuth", "ingest": "IngestClips", "retention": "ExpireSite"}
        properties = {short: resources[name]["Properties"] for short, name in names.items()}
        sweeps = properties["retention"]["Events"]["ExpireSiteSqsEventSource"]["Properties"]
        queue_events = [
            name
            for resource in resources.values()
            for name in resource.get("Properties", {}).get("Events", {})
            if name.endswith("SqsEventSource")
        ]
        return cls(
            memory={short: int(p["MemorySize"]) for short, p in properties.items()},
            architecture={short: p.get("Architectures", [packaged])[0] for short, p in properties.items()},
            timeout_s={short: int(p["Timeout"]) for short, p in properties.items()},
            sites_swept_at_once=int(sweeps["ScalingConfig"]["MaximumConcurrency"]),
            polled_queues=len(queue_events),
            traced=bool(chalice["stages"]["prod"].get("xray", chalice.get("xray", False))),  # a stage's value wins
            alarms=sum(1 for resource in resources.values() if resource.get("Type") == "AWS::CloudWatch::Alarm"),
            kms_keys=sum(1 for resource in resources.values() if resource.get("Type") == "AWS::KMS::Key"),
        )


def billed_seconds(wall_s: float, cpu_s: float, memory_mb: int) -> float:
    """Seconds on AWS of work that took `wall_s` here, `cpu_s` of it on the CPU, run at `memory_mb` (below one
    vCPU, the CPU time stretches)."""
    return wall_s + cpu_s * max(0.0, FULL_VCPU_MB / memory_mb - 1)


def gb_seconds(wall_s: float, cpu_s: float, memory_mb: int) -> float:
    """Billed GB-s of work that took `wall_s` here, `cpu_s` of it on the CPU, run at `memory_mb`."""
    return billed_seconds(wall_s, cpu_s, memory_mb) * memory_mb / 1024


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
                put_clip(ticket | {"method": "PUT"}, data.read(part_size))
        self._api("POST", f"/gateway/clips/{clip_id}/multipart/complete")

    def received(self, clip_id: str) -> bool:
        return bool(self._api("GET", f"/gateway/clips/{clip_id}")["received"])

    def heartbeat(self) -> None:
        self._api("POST", "/gateway/heartbeat", {"version": "cost", "spool_clips": 0})


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


def sweep(info: RunInfo, log: CallLog, at: datetime) -> Invocations:
    """Fire the retention schedule as if at `at` and wait until every site's sweep it asked for is done: the
    sites' sweeps (expire_site, in the jobs process) with the requests made meanwhile, the schedule's own too."""
    jobs_log = Path(info.logs["jobs"])
    mark, start = log.mark(), jobs_log.stat().st_size
    info.fire("expire_retention", at, timeout_s=600)
    wait_until_drained(_sqs(info), info.environment["SAFE_RETENTION_QUEUE_URL"], timeout_s=600)
    return invocations(jobs_log, start, "expire_site", log.since(mark, keep=per_clip_call))


def _sqs(info: RunInfo) -> Any:
    return AwsEndpoint(info.aws_endpoint).client("sqs")


def statuses(info: RunInfo, clip_ids: list[str]) -> list[str]:
    dynamodb, _ = _table(info)
    table = info.environment["SAFE_CLIPS_TABLE"]
    return [dynamodb.get_item(TableName=table, Key={"clip_id": {"S": c}})["Item"]["status"]["S"] for c in clip_ids]


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
        wait_until_drained(
            _sqs(info), info.ingest_queue_url, timeout_s=600
        )  # the event source's deletion of each clip's message counted too
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
        # One clip more, older than the rest, expired alone first: the jobs process's first sweep of clips loads
        # what a warm function holds already (botocore's models of the requests a sweep alone makes).
        warm_up = gateway.send(
            clips[0], min(starts) - timedelta(seconds=2 * arguments.clip_seconds), arguments.clip_seconds
        )
        wait_status(info, [warm_up])
        empty = sweep(info, log, datetime.now(UTC))
        sweep(info, log, retain_until(info, warm_up) + timedelta(seconds=1))
        full = sweep(info, log, max(retained) + timedelta(seconds=1))
        if statuses(info, clip_ids) != ["expired"] * len(clip_ids):
            raise RuntimeError(f"the sweep left clips unexpired: {statuses(info, clip_ids)}")
        _, tombstone_bytes = stored_sizes(info, clip_ids[:1])
        # What the clips add to the sites' sweeps (each site's runs every hour, clips due or not).
        per_clip_sweep = Invocations(
            wall_s=max(0.0, full.wall_s - empty.wall_s),
            cpu_s=max(0.0, full.cpu_s - empty.cpu_s),
            calls=full.calls.minus(empty.calls),
        )
    return Measured(
        clips=len(clip_ids),
        calls=calls,
        api=api,
        ingest=ingest,
        sweep=per_clip_sweep,
        sweep_empty=empty,
        heartbeat=heartbeat,
        log_bytes=log_bytes,
        clip_bytes=clips[0].stat().st_size,
        still_bytes=still_bytes,
        item_bytes=item_bytes,
        tombstone_bytes=tombstone_bytes,
    )


def _table(info: RunInfo) -> Any:
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
