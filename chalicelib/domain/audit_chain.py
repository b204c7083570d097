"""The audit trail's hash chains and their signed digests: how the archive writes them.

Each site's trail is `SEGMENTS` hash chains (segments), so that concurrent writers do not all wait on one
head: an event goes to any segment, and within a segment event `seq` n carries `prev_hash`, the hash of
event n-1 of that segment. An event's `hash` is the sha256 of its RFC 8785 (JSON Canonicalization Scheme)
encoding without `hash`. Every `DIGEST_INTERVAL` a digest of every segment's head, signed with an
asymmetric KMS key, goes to an Object Lock bucket. The format is in the README ("The audit trail's format");
chalicelib/domain/audit_verify.py checks it, independently of this module, as an outsider would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import rfc8785

from chalicelib.domain.timeutil import iso

if TYPE_CHECKING:
    from chalicelib.domain.catalog import Site

SEGMENTS = 16
GENESIS_HASH = "0" * 64
# The window in which the newest events can be removed unseen: one interval (README "Audit trail").
DIGEST_INTERVAL = timedelta(minutes=5)
DIGEST_FORMAT = "safe-society/audit-digest/1"
SIGNING_ALGORITHM = "ECDSA_SHA_256"


def canonical(fields: Mapping[str, Any]) -> bytes:
    """An event's RFC 8785 encoding, `hash` and empty (null) fields left out."""
    return rfc8785.dumps({key: value for key, value in fields.items() if key != "hash" and value is not None})


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def interval_start(moment: datetime) -> datetime:
    """The digest boundary at or before `moment` (boundaries are whole intervals since the Unix epoch)."""
    step = int(DIGEST_INTERVAL.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)


@dataclass(frozen=True)
class SegmentHead:
    segment: int
    seq: int
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {"segment": self.segment, "seq": self.seq, "hash": self.hash}


def empty_heads() -> list[SegmentHead]:
    return [SegmentHead(segment, 0, GENESIS_HASH) for segment in range(SEGMENTS)]


def digest_payload(
    site: str,
    at: datetime,
    written_at: datetime,
    heads: Sequence[SegmentHead],
    previous: Mapping[str, Any] | None,
    retain_until: datetime,
    key_id: str,
    problem: str | None,
) -> dict[str, Any]:
    """What a digest signs: every segment's head at `written_at`, for the boundary `at`, linked to the last one."""
    return {
        "format": DIGEST_FORMAT,
        "site": site,
        "at": iso(at),
        "interval_seconds": int(DIGEST_INTERVAL.total_seconds()),
        "written_at": iso(written_at),
        "segments": [head.as_json() for head in sorted(heads, key=lambda head: head.segment)],
        "previous": None
        if previous is None
        else {"at": previous["at"], "sha256": hashlib.sha256(rfc8785.dumps(dict(previous))).hexdigest()},
        "retain_until": iso(retain_until),
        "key_id": key_id,
        "problem": problem,
    }


def signed_bytes(payload: Mapping[str, Any]) -> bytes:
    return rfc8785.dumps(dict(payload))


def continuity_problem(
    previous: Mapping[str, Any] | None,
    heads: Sequence[SegmentHead],
    since: Mapping[int, Sequence[Mapping[str, Any]]],
) -> str | None:
    """What the digest writer checks before it signs: each segment still holds the head the last digest
    signed, and leads from it to today's head. So events removed after a digest show at the next one.

    `since[segment]`: the segment's events from the one the last digest signed (included) to `heads`."""
    if previous is None:
        return None
    now_heads = {head.segment: head for head in heads}
    for signed in previous["segments"]:
        segment = int(signed["segment"])
        head = now_heads.get(segment, SegmentHead(segment, 0, GENESIS_HASH))
        problem = _segment_continuity(
            SegmentHead(segment, int(signed["seq"]), str(signed["hash"])), head, since.get(segment, ())
        )
        if problem:
            return f"{problem} (since the digest of {previous['at']})"
    return None


def _segment_continuity(signed: SegmentHead, head: SegmentHead, events: Sequence[Mapping[str, Any]]) -> str | None:
    where = f"segment {signed.segment}"
    if head.seq < signed.seq:
        return f"{where} ends at event {head.seq}, but event {signed.seq} was signed"
    if signed.seq:
        if not events or events[0].get("seq") != signed.seq or events[0].get("hash") != signed.hash:
            return f"{where}: event {signed.seq} is no longer the one signed"
        events = events[1:]
    previous_hash, next_seq = signed.hash, signed.seq + 1
    for event in events:
        if (
            event.get("seq") != next_seq
            or event.get("prev_hash") != previous_hash
            or event_hash(event) != event["hash"]
        ):
            return f"{where}: event {next_seq} does not follow the signed head"
        previous_hash, next_seq = str(event["hash"]), next_seq + 1
    if (next_seq - 1, previous_hash) != (head.seq, head.hash):
        return f"{where} does not lead from the signed head to event {head.seq}"
    return None


def lock_period(sites: Iterable[Site]) -> timedelta:
    """How long a digest stays locked: as long as any footage it speaks of may exist (retention plus the
    longest hold), so the record of who saw a clip outlives the clip."""
    return timedelta(days=max((site.max_retention_days + site.max_hold_days for site in sites), default=0))


def raised_locks(before: Site | None, after: Site, others: Sequence[Site]) -> dict[str, timedelta]:
    """The chains whose digests must now be locked longer, each with its new lock, when a site's record goes
    from `before` to `after` (`others`: every other site): the site's own chain when its limits grow, and the
    site-less chain (refused requests, for all sites) when the longest of all grows."""
    from chalicelib.domain.audit import NO_SITE  # a pydantic module: not on `import app`'s path (DIGEST_INTERVAL)

    raised: dict[str, timedelta] = {}
    if before is not None and lock_period([after]) > lock_period([before]):
        raised[after.site_id] = lock_period([after])
    if lock_period([*others, after]) > lock_period([*others, *([before] if before else [])]):
        raised[NO_SITE] = lock_period([*others, after])
    return raised
