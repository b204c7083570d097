"""Subject requests, their exports and redactions in one table: item `REQUEST`, `EXPORT#<id>` per export and
`REDACTION#<id>` per redaction. A redacted share's redactions and export live here too, under the share's id
(no `REQUEST` item there: the share itself is in the shares table)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.domain.redaction import Redaction, RedactionStatus, ReviewRecord
from chalicelib.domain.subject_requests import Export, ExportStatus, RequestStatus, SubjectRequest
from chalicelib.domain.timeutil import iso
from chalicelib.errors import Conflict
from chalicelib.store.dynamo import from_item, is_condition_failure, query_items, to_item

REQUEST_ITEM = "REQUEST"
EXPORT_PREFIX = "EXPORT#"
REDACTION_PREFIX = "REDACTION#"
BY_SITE_DEADLINE_INDEX = "by_site_deadline"  # requests only: site + deadline
BY_EXPORT_EXPIRY_INDEX = "by_export_expiry"  # ready exports only: export_expiry (site) + expires_at
EXPORT_EXPIRY = "export_expiry"


class SubjectRequestBook:
    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, request: SubjectRequest) -> None:
        item = to_item(request.model_dump(mode="json")) | {"item": REQUEST_ITEM}
        self._table.put_item(Item=item, ConditionExpression=Attr("request_id").not_exists())

    def get(self, request_id: str) -> SubjectRequest | None:
        item = self._table.get_item(Key={"request_id": request_id, "item": REQUEST_ITEM}, ConsistentRead=True).get(
            "Item"
        )
        return _request(from_item(item)) if item else None

    def extend(self, request_id: str, deadline: str, reason: str) -> SubjectRequest:
        """Extend once, while open (Art. 12(3))."""
        return _request(
            self._update(
                {"request_id": request_id, "item": REQUEST_ITEM},
                "SET #deadline = :deadline, #extended = :yes, #extension_reason = :reason",
                {":deadline": deadline, ":yes": True, ":reason": reason},
                Attr("status").eq(RequestStatus.OPEN.value) & Attr("extended").ne(True),
                f"request {request_id} is closed or already extended",
            )
        )

    def close(self, request_id: str, by: str, outcome: str, now: datetime) -> SubjectRequest:
        return _request(
            self._update(
                {"request_id": request_id, "item": REQUEST_ITEM},
                "SET #status = :closed, #closed_by = :by, #closed_at = :now, #outcome = :outcome",
                {":closed": RequestStatus.CLOSED.value, ":by": by, ":now": iso(now), ":outcome": outcome},
                Attr("status").eq(RequestStatus.OPEN.value),
                f"request {request_id} is already closed",
            )
        )

    def of_site(self, site: str, status: RequestStatus, due_before: str | None = None) -> list[SubjectRequest]:
        """A site's requests in one state, earliest deadline first; open ones due before a day, where given."""
        key = Key("site").eq(site)
        query = {
            "IndexName": BY_SITE_DEADLINE_INDEX,
            "KeyConditionExpression": key & Key("deadline").lt(due_before) if due_before else key,
            "FilterExpression": Attr("status").eq(status.value),
        }
        return [_request(item) for item in query_items(self._table, query)]

    def add_export(self, export: Export) -> None:
        self._add_child(export, f"{EXPORT_PREFIX}{export.export_id}")

    def get_export(self, request_id: str, export_id: str) -> Export | None:
        item = self._child(request_id, f"{EXPORT_PREFIX}{export_id}")
        return _export(item) if item else None

    def finish_export(self, export: Export) -> Export:
        """Record a pending export's result; a ready one joins the expiry index so the sweep deletes it."""
        values = to_item(
            export.model_dump(
                mode="json", include={"status", "ready_at", "expires_at", "object_key", "sha256", "manifest", "failure"}
            )
        )
        # A withdrawn export (its share revoked while it was being made) keeps the time it was withdrawn at.
        sets = ", ".join(
            f"#{name} = if_not_exists(#withdrawn_at, :{name})" if name == "expires_at" else f"#{name} = :{name}"
            for name in values
            if name != "status"
        )
        expression = f"SET #status = :status{', ' + sets if sets else ''}"
        if export.status == ExportStatus.READY:
            expression += f", #{EXPORT_EXPIRY} = :site"
            values["site"] = export.site
        return _export(
            self._update(
                {"request_id": export.request_id, "item": f"{EXPORT_PREFIX}{export.export_id}"},
                expression,
                {f":{name}": value for name, value in values.items()},
                Attr("status").eq(ExportStatus.PENDING.value),
                f"export {export.export_id} was already finished",
            )
        )

    def withdraw_export(self, request_id: str, export_id: str, now: datetime) -> None:
        """Bring an export's deletion forward to `now` (a revoked share's): the next sweep deletes it, and one
        still being made keeps that time when it is finished."""
        self._update(
            {"request_id": request_id, "item": f"{EXPORT_PREFIX}{export_id}"},
            "SET #withdrawn_at = :now, #expires_at = :now",
            {":now": iso(now)},
            Attr("item").exists(),
            f"export {export_id} is unknown",
        )

    def exports_due(self, site: str, now: datetime) -> Iterator[Export]:
        query = {
            "IndexName": BY_EXPORT_EXPIRY_INDEX,
            "KeyConditionExpression": Key(EXPORT_EXPIRY).eq(site) & Key("expires_at").lte(iso(now)),
        }
        yield from (_export(item) for item in query_items(self._table, query))

    def mark_export_deleted(self, export: Export) -> None:
        self._update(
            {"request_id": export.request_id, "item": f"{EXPORT_PREFIX}{export.export_id}"},
            f"SET #status = :deleted REMOVE #{EXPORT_EXPIRY}, #object_key",
            {":deleted": ExportStatus.DELETED.value},
            Attr("status").eq(ExportStatus.READY.value),
            f"export {export.export_id} is not ready",
        )

    def add_redaction(self, redaction: Redaction) -> None:
        self._add_child(redaction, f"{REDACTION_PREFIX}{redaction.redaction_id}")

    def get_redaction(self, request_id: str, redaction_id: str) -> Redaction | None:
        item = self._child(request_id, f"{REDACTION_PREFIX}{redaction_id}")
        return _redaction(item) if item else None

    def _add_child(self, child: Export | Redaction, item_key: str) -> None:
        """An export or a redaction, kept under its request's partition; written once."""
        item = to_item(child.model_dump(mode="json")) | {"item": item_key}
        self._table.put_item(Item=item, ConditionExpression=Attr("request_id").not_exists())

    def _child(self, request_id: str, item_key: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"request_id": request_id, "item": item_key}, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def finish_redaction(self, redaction: Redaction) -> Redaction:
        """Record what the redaction function found (or why it failed), once, while pending."""
        values = to_item(
            redaction.model_dump(
                mode="json", include={"status", "found_at", "frames", "width", "height", "tracks", "failure"}
            )
        )
        return _redaction(
            self._update(
                {"request_id": redaction.request_id, "item": f"{REDACTION_PREFIX}{redaction.redaction_id}"},
                "SET " + ", ".join(f"#{name} = :{name}" for name in values),
                {f":{name}": value for name, value in values.items()},
                Attr("status").eq(RedactionStatus.PENDING.value),
                f"redaction {redaction.redaction_id} was already finished",
            )
        )

    def review_redaction(self, request_id: str, redaction_id: str, review: ReviewRecord) -> Redaction:
        """Store the dpo's decisions on found tracks; a later review replaces an earlier one (both are audited)."""
        return _redaction(
            self._update(
                {"request_id": request_id, "item": f"{REDACTION_PREFIX}{redaction_id}"},
                "SET #status = :reviewed, #review = :review",
                {":reviewed": RedactionStatus.REVIEWED.value, ":review": to_item(review.model_dump(mode="json"))},
                Attr("status").is_in([RedactionStatus.FOUND.value, RedactionStatus.REVIEWED.value]),
                f"redaction {redaction_id} has no tracks to review yet",
            )
        )

    def _update(
        self, key: dict[str, str], expression: str, values: dict[str, Any], condition: Any, conflict: str
    ) -> dict[str, Any]:
        # Every attribute goes by a #name: DynamoDB reserves hundreds of words (status, extended, ...).
        names = {f"#{name}": name for name in re.findall(r"#(\w+)", expression)}
        try:
            result = self._table.update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ExpressionAttributeNames=names,
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise Conflict(conflict) from error
            raise
        return from_item(result["Attributes"])


def _request(values: dict[str, Any]) -> SubjectRequest:
    return SubjectRequest.model_validate({k: v for k, v in values.items() if k != "item"})


def _export(values: dict[str, Any]) -> Export:
    return Export.model_validate({k: v for k, v in values.items() if k not in ("item", EXPORT_EXPIRY)})


def _redaction(values: dict[str, Any]) -> Redaction:
    return Redaction.model_validate({k: v for k, v in values.items() if k != "item"})
