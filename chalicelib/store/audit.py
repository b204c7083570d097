"""The audit trail in DynamoDB: each site's hash chains (segments), appended only by conditional puts.

Partition `chain` (`{site}/{segment}`), sort key `seq`. An append puts event n+1 on condition that no n+1
exists yet: two writers can never both append n+1, so a segment cannot fork. Each writer keeps to one
segment and remembers the head it last wrote there, so an append is usually one conditional put; a writer
that loses reads the head again, and after losing twice moves to another segment. No transaction and no
head item. The global index `by_time` (site, at_key) serves reads by time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from ulid import ULID

from chalicelib.domain.audit import NO_SITE, AuditEvent, AuditFilter, Outcome
from chalicelib.domain.audit_chain import GENESIS_HASH, SEGMENTS, SegmentHead, event_hash
from chalicelib.domain.principal import Principal
from chalicelib.domain.timeutil import iso
from chalicelib.errors import AccessRefused
from chalicelib.store.dynamo import (
    all_equal,
    decode_cursor,
    encode_cursor,
    from_item,
    is_condition_failure,
    query_items,
    to_item,
)

BY_TIME_INDEX = "by_time"
_PAGE_KEYS = {"chain": str, "seq": int, "site": str, "at_key": str}
_STORAGE_ONLY = ("chain", "at_key")
MAX_APPEND_ATTEMPTS = 100
# Refusals naming a site longer than this are cut in the trail (the name is the caller's text).
MAX_NAMED_SITE = 80


class AuditChainBusy(RuntimeError):
    """Too many writers raced for the same segments; the caller's request fails rather than go unaudited."""


def chain_key(site: str, segment: int) -> str:
    return f"{site}/{segment}"


class AuditLog:
    def __init__(self, table: Any, site_exists: Callable[[str], bool]) -> None:
        self._table = table
        self._site_exists = site_exists
        self._local = threading.local()
        # The head this process last appended to each segment: a guess that saves reading it again; the
        # conditional put is what decides, so a stale guess costs one more round, never a fork.
        self._last_seen: dict[tuple[str, int], SegmentHead] = {}

    def record_refusal(
        self, principal: Principal | None, refusal: AccessRefused, now: datetime, *, asked: str
    ) -> AuditEvent:
        """A rule's refusal, with its reason; `asked` (the request) stands for the target where the rule named none."""
        target = refusal.target or asked
        return self.record(
            principal, refusal.action, refusal.site, target, Outcome.REFUSED, now, reason=refusal.message
        )

    def record(
        self,
        principal: Principal | None,
        action: str,
        site: str,
        target: str,
        outcome: Outcome,
        now: datetime,
        *,
        purpose: str | None = None,
        case_id: str | None = None,
        reason: str | None = None,
        count: int | None = None,
    ) -> AuditEvent:
        """The one place every audit event is written; `principal` None: credentials were not accepted."""
        chain = site or NO_SITE
        if outcome == Outcome.REFUSED and chain != NO_SITE and not self._site_exists(chain):
            # A refusal naming a site that does not exist starts no chain for it (any text can be a path).
            target, chain = f"{target} (no site {chain[:MAX_NAMED_SITE]!r})", NO_SITE
        # Never dated after the moment it is written: the digests are signed with the wall clock, and an event
        # dated past the digest that covers it reads as forged (a job run for a later moment, as the tests'
        # expiry sweeps are, decides by that moment but is recorded when it ran).
        written = min(now, datetime.now(UTC))
        content = {
            "event_id": str(ULID.from_datetime(written)),
            "at": iso(written),
            "site": chain,
            "actor": principal.id if principal else "anonymous",
            "role": principal.role.value if principal else "-",
            "action": str(action),
            "target": target,
            "outcome": outcome.value,
            "purpose": purpose,
            "case_id": case_id,
            "reason": reason,
            "count": count,
        }
        segment = self._segment()
        for attempt in range(MAX_APPEND_ATTEMPTS):
            head = self._last_seen.get((chain, segment)) or self.head(chain, segment)
            chained: dict[str, Any] = content | {"segment": segment, "seq": head.seq + 1, "prev_hash": head.hash}
            chained["hash"] = event_hash(chained)
            if self._append(chained):
                self._last_seen[(chain, segment)] = SegmentHead(segment, head.seq + 1, chained["hash"])
                return AuditEvent.model_validate(chained)
            self._last_seen.pop((chain, segment), None)
            if attempt % 2:  # lost twice running: this segment is busy, settle on another
                segment = self._local.segment = random.randrange(SEGMENTS)  # noqa: S311 - spreading, not secrecy
            time.sleep(random.uniform(0, 0.001 * (attempt + 1)))  # noqa: S311 - jitter, not secrecy
        raise AuditChainBusy(f"could not append to the audit chain of {chain}")

    def _segment(self) -> int:
        """Each writer (a function instance, a thread) keeps to one segment, so writers seldom meet."""
        if not hasattr(self._local, "segment"):
            self._local.segment = random.randrange(SEGMENTS)  # noqa: S311 - spreading writers, not secrecy
        segment: int = self._local.segment
        return segment

    def head(self, site: str, segment: int) -> SegmentHead:
        """A segment's last event (seq 0 and the genesis hash while it has none)."""
        page = self._table.query(
            KeyConditionExpression=Key("chain").eq(chain_key(site, segment)),
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
            ProjectionExpression="seq, #h",
            ExpressionAttributeNames={"#h": "hash"},
        )
        items = page.get("Items", [])
        if not items:
            return SegmentHead(segment, 0, GENESIS_HASH)
        return SegmentHead(segment, int(items[0]["seq"]), str(items[0]["hash"]))

    def heads(self, site: str) -> list[SegmentHead]:
        return [self.head(site, segment) for segment in range(SEGMENTS)]

    def _append(self, event: dict[str, Any]) -> bool:
        item = to_item(event) | {
            "chain": chain_key(event["site"], event["segment"]),
            "at_key": f"{event['at']}#{event['event_id']}",
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(seq)")
        except ClientError as error:
            if is_condition_failure(error):
                return False  # another writer appended this seq first
            raise
        return True

    def events(
        self, site: str, start: datetime, end: datetime, limit: int, cursor: str | None, only: AuditFilter
    ) -> tuple[list[AuditEvent], str | None]:
        """A site's events in a time window, newest first, every segment together; a filtered page may hold
        fewer than `limit`."""
        query: dict[str, Any] = {
            "IndexName": BY_TIME_INDEX,
            "KeyConditionExpression": Key("site").eq(site) & Key("at_key").between(iso(start), iso(end) + "#~"),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        matching = all_equal(only.fields())
        if matching is not None:
            query["FilterExpression"] = matching
        start_key = decode_cursor(cursor, {"site": site}, _PAGE_KEYS)
        if start_key:
            query["ExclusiveStartKey"] = start_key
        page = self._table.query(**query)
        # Only events stored in one of the site's segments: those are the ones verification reads.
        events = [
            AuditEvent.model_validate(stored_event(item)) for item in page["Items"] if _in_its_segment(site, item)
        ]
        return events, encode_cursor(page.get("LastEvaluatedKey"))

    def chain(self, site: str) -> Iterator[dict[str, Any]]:
        """Every event of a site's segments as stored, segment by segment in sequence order (for verification)."""
        for segment in range(SEGMENTS):
            query = {"KeyConditionExpression": Key("chain").eq(chain_key(site, segment)), "ConsistentRead": True}
            yield from (stored_event(item) for item in query_items(self._table, query))

    def segment_events(self, site: str, segment: int, first: int, last: int) -> Iterator[dict[str, Any]]:
        """A segment's events `first`..`last`, in sequence order."""
        query = {
            "KeyConditionExpression": Key("chain").eq(chain_key(site, segment)) & Key("seq").between(first, last),
            "ConsistentRead": True,
        }
        yield from (stored_event(item) for item in query_items(self._table, query))


def _in_its_segment(site: str, item: dict[str, Any]) -> bool:
    segment = item.get("segment", -1)
    return segment in range(SEGMENTS) and item.get("chain") == chain_key(site, int(segment))


def stored_event(item: dict[str, Any]) -> dict[str, Any]:
    """An event as it was hashed: without the attributes that exist only for keys and indexes."""
    values = from_item(item)
    for key in _STORAGE_ONLY:
        values.pop(key, None)
    return values
