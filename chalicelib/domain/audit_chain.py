"""The audit trail's hash chain: each event commits to the one before it, so an edit anywhere shows.

Every site has its own chain (and so does the site-less partition of refused logins): event `seq` n carries
`prev_hash`, the hash of event n-1, and its own `hash`, the sha256 of its canonical encoding (which includes
`prev_hash`). Digests (sequence number and hash of the head at some moment) are kept apart, in storage that
cannot be rewritten, so that rewriting the whole chain in the table is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


def canonical(fields: Mapping[str, Any]) -> bytes:
    """One byte string per event content: sorted keys, no spaces, UTF-8, the hash itself left out."""
    content = {key: value for key, value in fields.items() if key != "hash" and value is not None}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


@dataclass(frozen=True)
class Digest:
    """The chain's head as it was at `at`: written where nobody can rewrite it."""

    chain: str
    seq: int
    hash: str
    at: str


@dataclass(frozen=True)
class Verification:
    chain: str
    events: int
    head_hash: str
    digests_checked: int
    first_broken_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(
    chain: str, events: Iterable[Mapping[str, Any]], digests: Iterable[Digest], head_seq: int
) -> Verification:
    """Recompute the chain in `seq` order; name the first event that does not fit, or a digest that does not.

    `head_seq` is where the chain's head says it ends: events deleted from the end show against it.
    """
    by_seq: dict[int, str] = {}
    previous_hash, expected_seq = GENESIS_HASH, 1
    for event in events:
        seq = int(event["seq"])
        problem = None
        if seq != expected_seq:
            problem = f"event {expected_seq} is missing (found {seq} next)"
            seq = expected_seq
        elif event.get("prev_hash") != previous_hash:
            problem = f"event {seq} does not follow event {seq - 1}"
        elif event_hash(event) != event.get("hash"):
            problem = f"event {seq} was altered after it was written"
        if problem:
            return Verification(chain, len(by_seq), previous_hash, 0, first_broken_seq=seq, problem=problem)
        by_seq[seq] = str(event["hash"])
        previous_hash, expected_seq = str(event["hash"]), seq + 1
    if head_seq != len(by_seq):
        return Verification(
            chain,
            len(by_seq),
            previous_hash,
            0,
            first_broken_seq=len(by_seq) + 1,
            problem=f"the trail ends at event {len(by_seq)} but its head says {head_seq}",
        )
    checked = 0
    for digest in sorted(digests, key=lambda d: d.seq):
        checked += 1
        if digest.seq not in by_seq and digest.seq != 0:
            return Verification(
                chain,
                len(by_seq),
                previous_hash,
                checked,
                first_broken_seq=len(by_seq) + 1,
                problem=f"the digest of {digest.at} names event {digest.seq}, which the trail no longer has",
            )
        if digest.seq and by_seq[digest.seq] != digest.hash:
            return Verification(
                chain,
                len(by_seq),
                previous_hash,
                checked,
                first_broken_seq=digest.seq,
                problem=f"event {digest.seq} differs from the digest written at {digest.at}",
            )
    return Verification(chain, len(by_seq), previous_hash, checked)
