"""The cost command's arithmetic: DynamoDB's write units as DynamoDB bills them (local/call_log.py) and Lambda's
GB-seconds at a memory below one vCPU (local/cost_counting.py)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from local.call_log import Table, item_size
from local.cost import SEALING_KEY_CACHE_S, XRAY_SAMPLED, Plan, fixed_usd, key_reads_per_clip, request_rows
from local.cost_counting import Calls, Functions, Invocations, Measured, gb_seconds, invocations, logged_bytes
from local.stack import ROOT

CLIPS = Table(
    {
        "KeySchema": [{"AttributeName": "clip_id"}],
        "GlobalSecondaryIndexes": [
            {"KeySchema": [{"AttributeName": "camera_id"}], "Projection": {"ProjectionType": "ALL"}},
            {"KeySchema": [{"AttributeName": "expires"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
    }
)


def clip(**extra: dict[str, str]) -> dict[str, dict[str, str]]:
    return {"clip_id": {"S": "c1"}, "camera_id": {"S": "cam-1"}, **extra}


def test_an_items_size_is_its_names_and_values() -> None:
    assert item_size({"name": {"S": "ab"}, "n": {"N": "12345"}}) == (4 + 2) + (1 + 3)


def test_a_write_costs_a_unit_per_kb_of_the_larger_item_and_of_each_index_entry_it_changes() -> None:
    before = clip(status={"S": "registered"})
    after = clip(status={"S": "indexed"}, facts={"S": "x" * 1500})

    # 2 units for the table (1.5 KB), 2 for the ALL index rewritten in place, none for the index it is not in.
    assert CLIPS.write_units(before, after) == 4
    # Put into the sparse index too: its entry (keys alone) costs one more.
    assert CLIPS.write_units(before, after | {"expires": {"S": "2026-12-09"}}) == 5
    # An attribute the keys-only index does not hold: that index is not written.
    held = after | {"expires": {"S": "a"}}
    assert CLIPS.write_units(held, held | {"status": {"S": "expired"}}) == 2 + 2
    assert CLIPS.write_units(held, held) == 2  # nothing an index holds changed: the table alone


def test_a_deletion_costs_the_old_item_and_its_index_entries() -> None:
    assert CLIPS.write_units(clip(expires={"S": "a"}), None) == 3


def test_below_one_vcpu_cpu_time_is_stretched() -> None:
    assert gb_seconds(1.0, 0.0, 1024) == 1.0
    assert gb_seconds(1.0, 1.0, 1769) == 1769 / 1024
    assert gb_seconds(1.0, 0.5, 512) == (1.0 + 0.5 * (1769 / 512 - 1)) / 2


def test_a_function_takes_its_cpu_time_and_its_requests_time_on_aws_whatever_it_waited_here() -> None:
    calls = Calls()
    calls.add({"service": "dynamodb", "operation": "GetItem", "ms": 900})  # a slow local stack
    calls.add({"service": "s3", "operation": "GetObject", "ms": 5, "bytes_in": 16_000_000})
    invocation = Invocations(count=1, wall_s=3.0, cpu_s=0.4, calls=calls)
    assert invocation.aws_wall_s == pytest.approx(0.4 + 0.008 + 0.025 + 0.2)
    # A request on a thread beside it (an upload while it decodes) counts as if it waited for all of it.
    beside = Calls()
    beside.add({"service": "s3", "operation": "PutObject", "ms": 100, "bytes_out": 8_000_000})
    invocation.overlapped = beside
    assert invocation.aws_wall_s == pytest.approx(0.4 + 0.008 + 0.025 + 0.2 + 0.025 + 0.1)


def test_the_apis_time_is_the_gateways_wait_with_the_local_requests_replaced_by_theirs_on_aws() -> None:
    calls = Calls(local_s=1.5, aws_s=0.2)
    api = Invocations(count=1, wall_s=2.0, calls=calls, timed_by_cpu=False)
    assert api.aws_wall_s == 2.0 - 1.5 + 0.2


def test_the_log_readers_take_the_json_lines_written_after_the_offset(tmp_path: Path) -> None:
    earlier = b'{"message": "before the clips were sent"}\n'
    report = b'{"message": "invocation", "function": "ingest", "duration_ms": 1500, "cpu_ms": 500, "max_rss_mb": 90}\n'
    logged = b'{"message": "clip indexed"}\n'
    log = tmp_path / "jobs.log"
    log.write_bytes(earlier + b"a local server's own line\n" + logged + report + report.replace(b"ingest", b"expiry"))

    assert logged_bytes(log, len(earlier)) == len(logged)  # no report, no plain line, nothing before the offset
    found = invocations(log, len(earlier), "ingest", Calls())
    assert (found.count, found.wall_s, found.cpu_s, found.max_rss_mb) == (1, 1.5, 0.5, 90)


def test_a_sites_keys_are_read_once_per_warm_function_that_meets_its_clips_in_a_cache_period() -> None:
    site = Plan(
        mbps=2, retention_days=7, clip_seconds=60, cameras=20, cameras_per_gateway=3, cameras_per_site=20, burst=3
    )
    clips_per_period = 20 * SEALING_KEY_CACHE_S / 60
    assert key_reads_per_clip(site, warm_functions=0.2) == pytest.approx(1 / clips_per_period, rel=1e-3)
    # As many warm functions as the site has clips in a period: each clip most likely meets a function new to it.
    many = key_reads_per_clip(site, warm_functions=clips_per_period)
    assert many == pytest.approx(1 - math.exp(-1))


def test_the_functions_memory_timeout_and_queue_event_sources_are_read_from_the_template(tmp_path: Path) -> None:
    def function(memory: int, timeout: int, events: dict[str, object] | None = None) -> dict[str, object]:
        return {"Properties": {"MemorySize": memory, "Timeout": timeout, "Events": events or {}}}

    sweeps = {"Properties": {"Queue": "q", "ScalingConfig": {"MaximumConcurrency": 7}}}
    resources = {
        "APIHandler": function(512, 60),
        "GatewayAuth": function(256, 10),
        "IngestClips": function(1024, 120, {"IngestClipsSqsEventSource": {"Properties": {"Queue": "q"}}}),
        "ExpireSite": function(384, 900, {"ExpireSiteSqsEventSource": sweeps}),
        "ExpireRetention": function(128, 120, {"ExpireRetentionEvent": {"Type": "Schedule"}}),
        "IngestGaveUpAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "ClipsKey": {"Type": "AWS::KMS::Key", "Properties": {}},
    }
    template = tmp_path / "template.yaml"
    template.write_text(json.dumps({"Resources": resources}), encoding="utf-8")  # JSON is YAML

    functions = Functions.from_template(template)

    assert functions.memory == {"api": 512, "auth": 256, "ingest": 1024, "retention": 384}
    assert functions.timeout_s["retention"] == 900
    assert functions.sites_swept_at_once == 7
    assert functions.polled_queues == 2  # the schedule polls no queue
    assert functions.alarms == 1
    assert functions.kms_keys == 1
    assert functions.traced  # .chalice/config.json turns X-Ray on


def _measured(clips: int, api_requests: int, ingest_runs: int) -> Measured:
    nothing = Calls()
    return Measured(
        clips=clips,
        calls=nothing,
        api=Invocations(count=api_requests, wall_s=0.1 * api_requests, timed_by_cpu=False),
        ingest=Invocations(count=ingest_runs, wall_s=0.4 * ingest_runs, cpu_s=0.1 * ingest_runs),
        sweep=Invocations(count=1),
        sweep_empty=Invocations(count=2),
        heartbeat=nothing,
        log_bytes=0,
        clip_bytes=15_000_000,
        still_bytes=50_000,
        item_bytes=900,
        tombstone_bytes=300,
    )


def test_x_ray_bills_a_share_of_each_clips_requests_and_the_first_trace_each_second_as_fixed() -> None:
    prices = json.loads((ROOT / "infra" / "prices" / "eu-north-1.json").read_text(encoding="utf-8"))
    traced = Functions.from_template(ROOT / "infra" / "template.yaml")
    untraced = dataclasses.replace(traced, traced=False)
    plan = Plan(2.0, 30, 60, 10_000, 3, 20, 3.0)
    measured = _measured(clips=10, api_requests=12, ingest_runs=10)

    (row,) = [r for r in request_rows(measured, traced, prices, plan) if r.service == "X-Ray"]
    assert row.per_clip == pytest.approx(XRAY_SAMPLED * (12 + 10) / 10)
    assert row.usd_per_clip == pytest.approx(row.per_clip * prices["xray"]["traces_recorded_per_million"] / 1e6)
    assert not [r for r in request_rows(measured, untraced, prices, plan) if r.service == "X-Ray"]
    fixed = dict(fixed_usd(measured, traced, prices, plan))
    (reservoir,) = [usd for name, usd in fixed.items() if name.startswith("X-Ray")]
    # One trace a second, a month long, for the API stage and for ingest.
    assert reservoir == pytest.approx(2 * 730 * 3600 * prices["xray"]["traces_recorded_per_million"] / 1e6)
    assert not [name for name, _ in fixed_usd(measured, untraced, prices, plan) if name.startswith("X-Ray")]
