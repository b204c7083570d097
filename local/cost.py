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
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.handlers.retention import PAGE_SIZE
from local.cost_counting import (
    HEARTBEAT_S,
    PLATFORM_LOG_BYTES,
    Calls,
    Functions,
    Measured,
    billed_seconds,
    gb_seconds,
    measure,
)
from local.stack import ROOT

HOURS_PER_MONTH = 730  # AWS's month
# X-Ray's sampling, which Lambda applies to a function and API Gateway's default rule to the stage: the first
# request each second is traced, and this share of the others.
XRAY_SAMPLED = 0.05
# The entry points traced at least once a second at scale (the API stage; ingest): the first trace each second
# is a fixed cost of the deployment (a town's 90 cameras send more than one request a second already).
XRAY_BUSY_ENTRY_POINTS = ("API stage", "ingest")
GIB = 1 << 30
SEALING_KEY_CACHE_S = Settings.model_fields["sealing_key_cache_seconds"].default


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
        measured.calls.requests + measured.sweep.calls.requests,
        measured.calls.wru + measured.sweep.calls.wru,
        measured.calls.rru + measured.sweep.calls.rru,
        measured.calls.messages,
    )
    rows: list[Row] = []
    s3 = prices["s3"]
    gateway_puts = Counter({("s3", "PutObject (the gateway's presigned PUT)"): n})
    requests: dict[tuple[str, str], float] = dict(calls.requests + gateway_puts)
    if requests.pop(("s3", "DeleteObjects"), 0):
        # The sweep deletes a page of clips in one request: here the sample's few, in a deployment far more.
        requests[("s3", "DeleteObjects (the sweep's, a page of clips each)")] = sweep_deletes_per_clip(plan) * n
    for (service, operation), count in sorted(requests.items()):
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
    if functions.traced:
        traced = XRAY_SAMPLED * (api_per_clip + measured.ingest.count / n)
        what = f"traces recorded ({XRAY_SAMPLED:.0%} of API requests and ingest runs, past the first each second)"
        rows.append(Row("X-Ray", what, traced, traced * prices["xray"]["traces_recorded_per_million"] / 1e6))
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
        ("retention", "expiry", measured.sweep.gb_seconds(functions.memory["retention"]) / n),
    ):
        memory, architecture = functions.memory[short], functions.architecture[short]
        rows.append(
            Row("Lambda", f"GB-s {label} ({memory} MB {architecture})", gbs, gbs * lam[f"{architecture}_gb_second"])
        )
    # A site's keys are read by a warm ingest function once per cache period, not per clip: the clips here read
    # them (their first found none cached), priced at the deployment's reads per clip instead, each billed as
    # one call (a site has a key or few; up to 20 come in one).
    reads = calls.requests.get(("secretsmanager", "BatchGetSecretValue"), 0)
    secrets = key_reads_per_clip(plan, ingest_concurrency(measured, plan)) if reads else 0.0
    if secrets:
        what = f"BatchGetSecretValue (a site's keys, once per warm function and {SEALING_KEY_CACHE_S / 60:g} min)"
        rows.append(
            Row("Secrets Manager", what, secrets, secrets * prices["secretsmanager"]["api_calls_per_10000"] / 1e4)
        )
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
        + (XRAY_SAMPLED * prices["xray"]["traces_recorded_per_million"] / 1e6 if functions.traced else 0.0)
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


def fixed_usd(measured: Measured, functions: Functions, prices: dict[str, Any], plan: Plan) -> list[tuple[str, float]]:
    """A deployment's own monthly costs, whatever its cameras, and its sites' (a sealing key each)."""
    # Every hour the schedule asks for each site's sweep (a message each), and each site's sweep runs: measured
    # for the local stack's sites, the schedule's share counted per site too (an upper bound).
    empty, sites_here = measured.sweep_empty.calls, measured.sweep_empty.count
    sqs_requests = sum(count for (service, _), count in empty.requests.items() if service == "sqs")
    per_site = (
        empty.wru * prices["dynamodb"]["write_request_unit_per_million"] / 1e6
        + empty.rru * prices["dynamodb"]["read_request_unit_per_million"] / 1e6
        + sqs_requests * prices["sqs"]["requests_per_million"] / 1e6
    ) / sites_here + prices["lambda"]["requests_per_million"] / 1e6
    sweep_usd = HOURS_PER_MONTH * (plan.sites * per_site + prices["lambda"]["requests_per_million"] / 1e6)
    # The event source long-polls each queue with 5 pollers, 20 s per poll, whether clips come or not.
    queues = functions.polled_queues
    polling = queues * 5 * HOURS_PER_MONTH * 180 * prices["sqs"]["requests_per_million"] / 1e6
    xray = [
        (
            f"X-Ray: the first trace each second of {', '.join(XRAY_BUSY_ENTRY_POINTS)}",
            len(XRAY_BUSY_ENTRY_POINTS) * HOURS_PER_MONTH * 3600 * prices["xray"]["traces_recorded_per_million"] / 1e6,
        )
    ]
    return [
        (f"KMS: the template's {functions.kms_keys} keys", functions.kms_keys * prices["kms"]["key_month"]),
        (
            f"CloudWatch: {functions.alarms} alarms (the dead-letter queues')",
            functions.alarms * prices["cloudwatch"]["standard_alarm_month"],
        ),
        *(xray if functions.traced else []),
        (f"Secrets Manager: {plan.sites:,} sites' sealing keys", plan.sites * prices["secretsmanager"]["secret_month"]),
        ("WAF: web ACL and its rate rule", prices["waf"]["web_acl_month"] + prices["waf"]["rule_month"]),
        (f"retention: the hourly schedule and {plan.sites:,} sites' sweeps (with nothing due)", sweep_usd),
        (f"SQS: the event sources' polling of {queues} queues", polling),
    ]


def site_sweep_seconds(measured: Measured, functions: Functions, plan: Plan) -> float:
    """How long one site's hourly sweep runs on AWS (an hour of its cameras' clips due), against the function's
    timeout; a sweep that would outlast it hands the rest of its site on to another run."""
    swept = measured.sweep
    per_clip = billed_seconds(swept.aws_wall_s, swept.cpu_s, functions.memory["retention"]) / measured.clips
    return per_clip * plan.cameras_per_site * 3600 / plan.clip_seconds


def sweep_deletes_per_clip(plan: Plan) -> float:
    """The sweep's DeleteObjects requests per clip: each hourly sweep finds a site's hour of clips due and deletes
    them a page (retention PAGE_SIZE) a request."""
    due_per_sweep = plan.cameras_per_site * 3600 / plan.clip_seconds
    return 1 / min(float(PAGE_SIZE), due_per_sweep)


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
    sweep_s = site_sweep_seconds(measured, functions, plan)
    # The sites' sweeps are all asked for on the hour; the queue's event source runs a few at once, each sweep_s.
    at_once = min(plan.sites, functions.sites_swept_at_once)
    all_swept_s = math.ceil(plan.sites / at_once) * sweep_s
    return [
        ("ingest", ingest, ingest * plan.burst),
        (
            f"retention on the hour: {plan.sites:,} sites' sweeps, ≈ {sweep_s:,.0f} s each (timeout "
            f"{functions.timeout_s['retention']} s: the rest handed on), all done in ≈ {all_swept_s / 60:,.0f} min",
            at_once,
            at_once,
        ),
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
    fixed = fixed_usd(measured, functions, prices, plan)
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
