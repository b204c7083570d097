"""What the audit trail's end-to-end tests do: sign lab sites' chains, attack them as someone with table and
bucket access would, and read the anonymous refusal counters."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from chalicelib.domain.audit_chain import DIGEST_INTERVAL, GENESIS_HASH, SEGMENTS, event_hash, interval_start
from chalicelib.domain.timeutil import iso
from tests.e2e.conftest import fire


def digest_now(archive) -> datetime:
    """Sign the lab chains now, as the digest of the coming boundary (the scheduler's own run there adds none)."""
    boundary = interval_start(datetime.now(UTC)) + DIGEST_INTERVAL
    fire(archive, "write_audit_digests", boundary)
    return boundary


def events_of(table, site: str) -> list[dict]:
    found = []
    for segment in range(SEGMENTS):
        found += table.query(
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "chain"},
            ExpressionAttributeValues={":c": f"{site}/{segment}"},
            ConsistentRead=True,
        )["Items"]
    return found


def rehash_from(table, site: str, segment: int, first_seq: int, purpose: str) -> None:
    """What anyone with PutItem can do: rewrite an event and re-hash every later one (no key is needed)."""
    items = sorted((e for e in events_of(table, site) if e["segment"] == segment), key=lambda e: e["seq"])
    previous = items[first_seq - 2]["hash"] if first_seq > 1 else GENESIS_HASH
    for item in items[first_seq - 1 :]:
        item["purpose"] = purpose
        item["prev_hash"] = previous
        content = {
            k: (int(v) if k in ("seq", "segment") else v) for k, v in item.items() if k not in ("chain", "at_key")
        }
        item["hash"] = previous = event_hash(content)
        table.put_item(Item=item)


def digest_keys(aws, archive, site: str) -> list[str]:
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=archive.environment["SAFE_AUDIT_DIGEST_BUCKET"], Prefix=f"digests/{site}/")
    return [entry["Key"] for entry in listed.get("Contents", [])]


def busiest_segment(table, site: str) -> int:
    counts: dict[int, int] = {}
    for event in events_of(table, site):
        counts[int(event["segment"])] = counts.get(int(event["segment"]), 0) + 1
    return max(counts, key=lambda segment: counts[segment])


def counter(aws, archive, interval: datetime) -> tuple[int, int]:
    table = aws.resource("dynamodb").Table(archive.environment["SAFE_AUDIT_REFUSALS_TABLE"])
    key = {"interval": iso(interval), "source": "127.0.0.1"}
    item = table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
    return int(item.get("without_credentials", 0)), int(item.get("credentials_refused", 0))


def counted(aws, archive, interval: datetime, at_least: tuple[int, int], deadline_s: float = 20.0) -> tuple[int, int]:
    """The counter once the access log has brought it to `at_least`."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = counter(aws, archive, interval)
        if found[0] >= at_least[0] and found[1] >= at_least[1]:
            return found
        time.sleep(0.2)
    raise AssertionError(f"the refusals were not counted: {found} < {at_least}")


def an_interval_with_time_to_spare() -> datetime:
    """The current interval, once at least 10 s of it are left (so the requests all fall into it)."""
    deadline = time.monotonic() + 15
    while interval_start(datetime.now(UTC)) + DIGEST_INTERVAL - datetime.now(UTC) < timedelta(seconds=10):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return interval_start(datetime.now(UTC))


def edit_purpose(table, event: dict, purpose: str) -> None:
    """What anyone with UpdateItem can do: rewrite why footage was viewed, in place."""
    table.update_item(
        Key={"chain": event["chain"], "seq": event["seq"]},
        UpdateExpression="SET purpose = :p",
        ExpressionAttributeValues={":p": purpose},
    )
