"""Cases and their holds in one DynamoDB table: item `CASE`, and one `HOLD#<clip_id>` item per held clip."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.domain.cases import Case, CaseStatus
from chalicelib.domain.timeutil import iso
from chalicelib.errors import Conflict
from chalicelib.store.dynamo import from_item, is_condition_failure, query_items, to_item

CASE_ITEM = "CASE"
HOLD_PREFIX = "HOLD#"
BY_SITE_REVIEW_INDEX = "by_site_review"  # site + review_date, on case items only


class CaseBook:
    def __init__(self, table: Any) -> None:
        self._table = table

    def open(self, case: Case) -> None:
        item = to_item(case.model_dump(mode="json")) | {"item": CASE_ITEM}
        self._table.put_item(Item=item, ConditionExpression=Attr("case_id").not_exists())

    def get(self, case_id: str) -> Case | None:
        item = self._table.get_item(Key={"case_id": case_id, "item": CASE_ITEM}, ConsistentRead=True).get("Item")
        return _case(from_item(item)) if item else None

    def add_hold(self, case_id: str, clip_id: str, now: datetime) -> None:
        self._table.put_item(Item={"case_id": case_id, "item": f"{HOLD_PREFIX}{clip_id}", "held_at": iso(now)})

    def remove_hold(self, case_id: str, clip_id: str) -> None:
        self._table.delete_item(Key={"case_id": case_id, "item": f"{HOLD_PREFIX}{clip_id}"})

    def held_clips(self, case_id: str) -> Iterator[str]:
        query = {
            "KeyConditionExpression": Key("case_id").eq(case_id) & Key("item").begins_with(HOLD_PREFIX),
            "ConsistentRead": True,
        }
        for item in query_items(self._table, query):
            yield str(item["item"]).removeprefix(HOLD_PREFIX)

    def close(self, case_id: str, by: str, now: datetime) -> Case:
        try:
            result = self._table.update_item(
                Key={"case_id": case_id, "item": CASE_ITEM},
                UpdateExpression="SET #status = :closed, closed_by = :by, closed_at = :now",
                ConditionExpression=Attr("status").eq(CaseStatus.OPEN.value),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":closed": CaseStatus.CLOSED.value, ":by": by, ":now": iso(now)},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise Conflict(f"case {case_id} is already closed") from error
            raise
        return _case(from_item(result["Attributes"]))

    def of_site(self, site: str, status: CaseStatus) -> list[Case]:
        """A site's cases in one state, soonest review first."""
        query = {
            "IndexName": BY_SITE_REVIEW_INDEX,
            "KeyConditionExpression": Key("site").eq(site),
            "FilterExpression": Attr("status").eq(status.value),
        }
        return [_case(item) for item in query_items(self._table, query)]

    def due_for_review(self, site: str, now: datetime) -> list[Case]:
        """Open cases of a site whose review date has passed (the dpo's list)."""
        query = {
            "IndexName": BY_SITE_REVIEW_INDEX,
            "KeyConditionExpression": Key("site").eq(site) & Key("review_date").lte(iso(now)),
            "FilterExpression": Attr("status").eq(CaseStatus.OPEN.value),
        }
        return [_case(item) for item in query_items(self._table, query)]


def _case(values: dict[str, Any]) -> Case:
    return Case.model_validate({key: value for key, value in values.items() if key != "item"})
