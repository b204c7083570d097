"""The audit trail in DynamoDB: one partition per site, events sorted by time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from chalicelib.domain.audit import AuditEvent, Outcome, audit_event
from chalicelib.domain.principal import Principal
from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import decode_cursor, encode_cursor, from_item, to_item

_PAGE_KEYS = frozenset({"site", "sort_key"})


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
        """The one place every audit event is written."""
        event = audit_event(
            principal, action, site, target, outcome, now, purpose=purpose, case_id=case_id, reason=reason
        )
        item = to_item(event.model_dump(mode="json"))
        item["sort_key"] = f"{item['at']}#{event.event_id}"
        self._table.put_item(Item=item)
        return event

    def events(
        self, site: str, start: datetime, end: datetime, limit: int, cursor: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        """A site's events in a time window, newest first."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("site").eq(site) & Key("sort_key").between(iso(start), iso(end) + "#~"),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start_key = decode_cursor(cursor, {"site": site}, _PAGE_KEYS)
        if start_key:
            query["ExclusiveStartKey"] = start_key
        page = self._table.query(**query)
        events = [AuditEvent.model_validate(_without_sort_key(item)) for item in page["Items"]]
        return events, encode_cursor(page.get("LastEvaluatedKey"))


def _without_sort_key(item: dict[str, Any]) -> dict[str, Any]:
    values = from_item(item)
    values.pop("sort_key", None)
    return values
