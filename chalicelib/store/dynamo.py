"""Conversions between plain JSON-like values and DynamoDB items, and opaque page cursors."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import operator
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from chalicelib.errors import InvalidRequest


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty values (DynamoDB indexes no NULL keys) and turn floats into Decimals."""
    return {key: _to_dynamo(value) for key, value in values.items() if value not in (None, [], {}, ())}


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return to_item(value)
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _from_dynamo(value) for key, value in item.items()}


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return from_item(value)
    if isinstance(value, (list, set)):
        return [_from_dynamo(v) for v in value]
    return value


# Issued cursors are a few hundred characters; anything far longer is not ours.
MAX_CURSOR_CHARS = 2048


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(from_item(last_key), sort_keys=True).encode()).decode()


def decode_cursor(
    cursor: str | None, expected: Mapping[str, str], key_types: Mapping[str, type]
) -> dict[str, Any] | None:
    """Turn a cursor back into a start key, refusing one that was not issued for this query."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidRequest("cursor is not one this API issued")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest("cursor is not one this API issued") from exc
    valid = (
        isinstance(key, dict)
        and set(key) == set(key_types)
        and all(type(value) is key_types[name] for name, value in key.items())
        and all(key.get(name) == value for name, value in expected.items())
    )
    if not valid:
        raise InvalidRequest("cursor is not one this API issued for this query")
    return key


def is_condition_failure(error: ClientError) -> bool:
    """A conditional write that lost: the state it expected is gone, which callers treat as an answer."""
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def query_pages(table: Any, query: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The pages of a query's items, as plain values, following LastEvaluatedKey to the end."""
    request = dict(query)
    while True:
        page = table.query(**request)
        yield [from_item(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_items(table: Any, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a query matches, page after page, as plain values."""
    for page in query_pages(table, query):
        yield from page


def all_equal(fields: dict[str, Any]) -> Any:
    """A filter matching items whose attributes equal every one of `fields`; None for no fields."""
    conditions = [Attr(name).eq(value) for name, value in fields.items()]
    return functools.reduce(operator.and_, conditions) if conditions else None
