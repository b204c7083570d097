"""The audit trail in DynamoDB: one hash chain per site, appended only through a conditional transaction.

Partition `site`, sort key `seq`; item seq 0 is the chain's head (last seq and hash). An append writes event
n+1 and moves the head from n to n+1 in one transaction, conditional on the head still being n: two writers
can never both append n+1, so the chain cannot fork. A local index `by_time` serves reads by time window.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from ulid import ULID

from chalicelib.domain.audit import NO_SITE, AuditEvent, AuditFilter, Outcome
from chalicelib.domain.audit_chain import GENESIS_HASH, event_hash
from chalicelib.domain.principal import Principal
from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import all_equal, decode_cursor, encode_cursor, from_item, query_items, to_item

HEAD_SEQ = 0
BY_TIME_INDEX = "by_time"
_PAGE_KEYS = {"site": str, "seq": int, "at_key": str}
_STORAGE_ONLY = ("at_key",)
MAX_APPEND_ATTEMPTS = 100


class AuditChainBusy(RuntimeError):
    """Too many writers raced for the same chain head; the caller's request fails rather than go unaudited."""


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


class AuditLog:
    def __init__(self, table: Any) -> None:
        self._table = table

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
    ) -> AuditEvent:
        """The one place every audit event is written; `principal` None: credentials were not accepted."""
        chain = site or NO_SITE
        content = {
            "event_id": str(ULID.from_datetime(now)),
            "at": iso(now),
            "site": chain,
            "actor": principal.id if principal else "anonymous",
            "role": principal.role.value if principal else "-",
            "action": str(action),
            "target": target,
            "outcome": outcome.value,
            "purpose": purpose,
            "case_id": case_id,
            "reason": reason,
        }
        for attempt in range(MAX_APPEND_ATTEMPTS):
            head = self.head(chain)
            chained = content | {"seq": head.seq + 1, "prev_hash": head.hash}
            chained["hash"] = event_hash(chained)
            if self._append(chained, head):
                return AuditEvent.model_validate(chained)
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter, not secrecy
        raise AuditChainBusy(f"could not append to the audit chain of {chain}")

    def head(self, site: str) -> ChainHead:
        item = self._table.get_item(Key={"site": site, "seq": HEAD_SEQ}, ConsistentRead=True).get("Item")
        if not item:
            return ChainHead(seq=0, hash=GENESIS_HASH)
        return ChainHead(seq=int(item["head_seq"]), hash=str(item["head_hash"]))

    def _append(self, event: dict[str, Any], head: ChainHead) -> bool:
        item = to_item(event) | {"at_key": f"{event['at']}#{event['event_id']}"}
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table.name,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(seq)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"site": event["site"], "seq": HEAD_SEQ},
                            "UpdateExpression": "SET head_seq = :new, head_hash = :hash",
                            "ConditionExpression": "attribute_not_exists(head_seq) OR head_seq = :old"
                            if head.seq == 0
                            else "head_seq = :old",
                            "ExpressionAttributeValues": {
                                ":new": event["seq"],
                                ":hash": event["hash"],
                                ":old": head.seq,
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False  # another writer moved the head first
            raise
        return True

    def events(
        self, site: str, start: datetime, end: datetime, limit: int, cursor: str | None, only: AuditFilter
    ) -> tuple[list[AuditEvent], str | None]:
        """A site's events in a time window, newest first; a filtered page may hold fewer than `limit`."""
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
        events = [AuditEvent.model_validate(stored_event(item)) for item in page["Items"]]
        return events, encode_cursor(page.get("LastEvaluatedKey"))

    def chain(self, site: str) -> Iterator[dict[str, Any]]:
        """Every event of a site's chain as stored, in sequence order (for verification)."""
        query = {"KeyConditionExpression": Key("site").eq(site) & Key("seq").gt(HEAD_SEQ), "ConsistentRead": True}
        yield from (stored_event(item) for item in query_items(self._table, query))


def stored_event(item: dict[str, Any]) -> dict[str, Any]:
    """An event as it was hashed: without the attributes that exist only for indexing."""
    values = from_item(item)
    for key in _STORAGE_ONLY:
        values.pop(key, None)
    return values
