"""Plain values ↔ DynamoDB items, and opaque page cursors (chalicelib.store.dynamo)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.errors import InvalidRequest
from chalicelib.store.dynamo import decode_cursor, encode_cursor, from_item, to_item

PAGE_KEYS = {"clip_id": str, "listed_camera": str, "start": str}
LAST_KEY = {"clip_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "listed_camera": "cam-01", "start": "2026-11-25T14:00:00.000Z"}
FOR_CAM_01 = {"listed_camera": "cam-01"}


def cursor_of(value: Any) -> str:
    """A cursor as a client could forge one: any JSON, base64url-encoded."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# to_item / from_item


def test_floats_stored_as_decimals() -> None:
    assert to_item({"fps": 29.97, "nested": {"duration_s": 0.1}, "list": [1.5]}) == {
        "fps": Decimal("29.97"),
        "nested": {"duration_s": Decimal("0.1")},
        "list": [Decimal("1.5")],
    }


def test_item_round_trips_to_equal_plain_values() -> None:
    values = {
        "size": 1_073_741_824,
        "fps": 29.97,
        "duration_s": 0.1,
        "whole_float": 25.0,
        "status": "indexed",
        "flag": True,
        "video": {"codec": "h264", "width": 320, "fps": 12.5},
        "thumbnail_keys": ["a.jpg", "b.jpg"],
        "empty_text": "",
    }
    assert from_item(to_item(values)) == values


def test_integers_come_back_as_int_not_float() -> None:
    restored = from_item(to_item({"size": 2**53 + 1, "width": 320}))
    assert restored == {"size": 2**53 + 1, "width": 320}
    assert all(type(value) is int for value in restored.values())


def test_non_integral_decimal_comes_back_as_float() -> None:
    assert from_item({"fps": Decimal("29.97")}) == {"fps": 29.97}


def test_empty_values_dropped_at_every_level() -> None:
    item = to_item({"keep": 0, "none": None, "list": [], "tuple": (), "dict": {}, "video": {"x": None, "y": 1}})
    assert item == {"keep": 0, "video": {"y": 1}}


def test_sets_read_back_as_lists() -> None:
    # boto3 returns string and number sets as Python sets
    assert sorted(from_item({"holds": {"case-1", "case-2"}})["holds"]) == ["case-1", "case-2"]


# encode_cursor / decode_cursor


def test_cursor_round_trips_to_last_key() -> None:
    assert decode_cursor(encode_cursor(LAST_KEY), FOR_CAM_01, PAGE_KEYS) == LAST_KEY


@pytest.mark.parametrize("last_key", [None, {}])
def test_last_page_has_no_cursor(last_key: dict[str, Any] | None) -> None:
    assert encode_cursor(last_key) is None


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_means_first_page(cursor: str | None) -> None:
    assert decode_cursor(cursor, FOR_CAM_01, PAGE_KEYS) is None


def test_cursor_is_url_safe() -> None:
    cursor = encode_cursor(LAST_KEY | {"clip_id": "??>>??>>"})
    assert cursor is not None
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("!!!", id="not_base64"),
        pytest.param("abc", id="bad_padding"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(), id="not_utf8"),
        pytest.param(base64.urlsafe_b64encode(b"{not json").decode(), id="not_json"),
        pytest.param(cursor_of(["cam-01"]), id="list"),
        pytest.param(cursor_of("cam-01"), id="string"),
        pytest.param(cursor_of(None), id="null"),
    ],
)
def test_garbage_cursor_refused(cursor: str) -> None:
    with pytest.raises(InvalidRequest, match="not one this API issued"):
        decode_cursor(cursor, FOR_CAM_01, PAGE_KEYS)


def test_cursor_for_another_camera_refused() -> None:
    cursor = encode_cursor(LAST_KEY | {"listed_camera": "cam-02"})
    with pytest.raises(InvalidRequest, match="for this query"):
        decode_cursor(cursor, FOR_CAM_01, PAGE_KEYS)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(LAST_KEY | {"site": "birzai"}, id="extra_key"),
        pytest.param({k: v for k, v in LAST_KEY.items() if k != "start"}, id="missing_key"),
        pytest.param(LAST_KEY | {"start": 1_795_000_000}, id="number_value"),
        pytest.param(LAST_KEY | {"start": {"S": "2026-11-25T14:00:00.000Z"}}, id="nested_value"),
    ],
)
def test_cursor_not_shaped_like_the_query_key_refused(key: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest, match="for this query"):
        decode_cursor(cursor_of(key), FOR_CAM_01, PAGE_KEYS)


def test_deeply_nested_cursor_refused() -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    with pytest.raises(InvalidRequest):
        decode_cursor(cursor, FOR_CAM_01, PAGE_KEYS)
