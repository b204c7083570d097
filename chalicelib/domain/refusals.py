"""Anonymous refusals (no credentials, or credentials not accepted) on the record without flooding it.

API Gateway answers them itself (401 without credentials, 403 when the authorizer refuses) and writes each
to its access log; they are counted per source address and interval from that log, and every interval the
counts of the intervals just closed go into the site-less audit chain: one event per source (the busiest
`TOP_SOURCES`, the rest as one), never one per request. So a flood of garbage tokens costs the trail a few
events per interval, and no official's audited read waits on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.domain.timeutil import iso

# API Gateway's `$context.error.responseType` for the refusals counted here, and what the trail calls them.
REFUSAL_KINDS = {"UNAUTHORIZED": "without credentials", "ACCESS_DENIED": "with credentials refused"}
INTERVAL = DIGEST_INTERVAL
# An interval is folded once this long past its end: the access log reaches the counter within seconds.
FOLD_AFTER = INTERVAL
# How far back a fold looks for intervals not yet folded (runs missed in an outage).
FOLD_LOOKBACK = 12
TOP_SOURCES = 20
MAX_SOURCE = 64


@dataclass(frozen=True)
class RefusalCount:
    interval: datetime
    source: str
    without_credentials: int = 0
    credentials_refused: int = 0

    @property
    def total(self) -> int:
        return self.without_credentials + self.credentials_refused


def count_access_log(messages: Iterable[str]) -> list[RefusalCount]:
    """The refusals among access log lines (the template's AccessLogSetting format), per source and interval."""
    counts: dict[tuple[datetime, str], list[int]] = {}
    for message in messages:
        try:
            record = json.loads(message)
            kind = REFUSAL_KINDS.get(str(record.get("errorType")))
            at = datetime.fromtimestamp(int(record["requestTime"]) / 1000, UTC)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # not a line of ours: nothing to count
        if kind is None:
            continue
        tally = counts.setdefault((interval_start(at), str(record.get("sourceIp") or "-")[:MAX_SOURCE]), [0, 0])
        tally[0 if kind == REFUSAL_KINDS["UNAUTHORIZED"] else 1] += 1
    return [RefusalCount(interval, source, a, b) for (interval, source), (a, b) in counts.items()]


def intervals_to_fold(now: datetime) -> list[datetime]:
    """The closed intervals a fold at `now` takes up, oldest first."""
    newest = interval_start(now - FOLD_AFTER) - INTERVAL
    return [newest - step * INTERVAL for step in range(FOLD_LOOKBACK - 1, -1, -1)]


@dataclass(frozen=True)
class FoldedRefusals:
    """One audit event's worth: who (a source, or how many others) was refused how often in an interval."""

    target: str
    reason: str
    count: int


def fold(interval: datetime, counts: Iterable[RefusalCount]) -> list[FoldedRefusals]:
    busiest = sorted((c for c in counts if c.total), key=lambda c: (-c.total, c.source))
    window = f"{iso(interval)}/{iso(interval + INTERVAL)}"
    folded = [
        FoldedRefusals(
            f"requests from {c.source}", _reason(c.without_credentials, c.credentials_refused, window), c.total
        )
        for c in busiest[:TOP_SOURCES]
    ]
    rest = busiest[TOP_SOURCES:]
    if rest:
        without = sum(c.without_credentials for c in rest)
        refused = sum(c.credentials_refused for c in rest)
        folded.append(
            FoldedRefusals(
                f"requests from {len(rest)} other sources", _reason(without, refused, window), without + refused
            )
        )
    return folded


def _reason(without: int, refused: int, window: str) -> str:
    return f"{without} {REFUSAL_KINDS['UNAUTHORIZED']}, {refused} {REFUSAL_KINDS['ACCESS_DENIED']}, in {window}"


def expires(interval: datetime) -> int:
    """When a counter may go (DynamoDB TTL): long after its fold."""
    return int((interval + timedelta(days=2)).timestamp())
