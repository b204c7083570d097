"""Every AWS request a local process makes, written down for the cost command (local/cost.py).

Installed only in the processes the cost command starts (local/call_log_site/sitecustomize.py, on their
PYTHONPATH): a botocore handler on boto3's default session, which every client and resource the functions
build comes from, writes one JSON line per request: process, thread, service, operation, outcome.

DynamoDB bills capacity units, not requests, so for DynamoDB the line also carries the units DynamoDB would
charge: the recorder reads each written item before and after the write (with a client of its own, whose
requests are not recorded) and applies DynamoDB's rules: a write costs 1 unit per KB of the larger of the
two items, plus, for each global secondary index the item is or was in, 1 unit per KB of the index entry
written or deleted (none if nothing the index projects changed); transactions cost twice. A read costs
1 unit per 4 KB read (half if eventually consistent), summed over a query's items.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

ENV = "LOCAL_AWS_CALL_LOG"
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_READS = {"GetItem", "Query", "Scan"}


def install(path: Path) -> None:
    import boto3

    boto3.setup_default_session()
    recorder = Recorder(path)
    boto3.DEFAULT_SESSION.events.register("before-call", recorder.before)
    boto3.DEFAULT_SESSION.events.register("after-call", recorder.after)


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (low-level AttributeValue form)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


_SCALAR_SIZE = {
    "S": lambda text: len(text.encode()),
    "N": lambda digits: len(digits.lstrip("-").replace(".", "")) // 2 + 1,
    "B": lambda encoded: len(encoded) * 3 // 4,  # base64 in the JSON body
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
}


def _value_size(value: dict[str, Any]) -> int:
    (kind, content), *_ = value.items()
    if kind in _SCALAR_SIZE:
        return int(_SCALAR_SIZE[kind](content))
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: member}) for member in content)
    if kind == "L":
        return 3 + sum(1 + _value_size(member) for member in content)
    return 3 + sum(1 + len(name.encode()) + _value_size(member) for name, member in content.items())  # M


def _kb_units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


class Table:
    """What capacity accounting needs of a table: its key and its indexes' keys and projections."""

    def __init__(self, description: dict[str, Any]) -> None:
        self.keys = [key["AttributeName"] for key in description["KeySchema"]]
        self.indexes: list[tuple[list[str], str, list[str]]] = [
            (
                [key["AttributeName"] for key in index["KeySchema"]],
                index["Projection"]["ProjectionType"],
                index["Projection"].get("NonKeyAttributes", []),
            )
            for index in description.get("GlobalSecondaryIndexes", [])
        ]

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.keys}

    def write_units(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
        units = _kb_units(max(item_size(before or {}), item_size(after or {})), 1024)
        for keys, projection, included in self.indexes:
            entries = [self._entry(item, keys, projection, included) for item in (before, after)]
            old, new = entries
            if old == new:
                continue
            if old is not None and new is not None and all(old[key] == new[key] for key in keys):
                units += _kb_units(item_size(new), 1024)  # rewritten in place
                continue
            units += sum(_kb_units(item_size(entry), 1024) for entry in entries if entry is not None)
        return units

    def _entry(
        self, item: dict[str, Any] | None, keys: list[str], projection: str, included: list[str]
    ) -> dict[str, Any] | None:
        """The item's entry in an index, or None if the item is not in it (sparse: a key attribute missing)."""
        if item is None or any(key not in item for key in keys):
            return None
        if projection == "ALL":
            return item
        names = set(self.keys) | set(keys) | (set(included) if projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in names}


class Recorder:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._pending = threading.local()
        self._client: Any = None
        self._tables: dict[str, Table] = {}

    def _own_client(self) -> Any:
        # A session of its own: its requests reach no handler of the default session, so none is recorded.
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client("dynamodb")
        return self._client

    def _table(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = Table(self._own_client().describe_table(TableName=name)["Table"])
        return self._tables[name]

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = (
            self._own_client().get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        )
        return found

    def _writes(self, operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(table, key) of each item the request writes."""
        if operation in _WRITES:
            items = [request]
        elif operation == "TransactWriteItems":  # a condition check is billed as a write too
            items = [next(iter(entry.values())) for entry in request["TransactItems"]]
        elif operation == "BatchWriteItem":
            items = [
                {"TableName": table, **next(iter(entry.values()))}
                for table, entries in request["RequestItems"].items()
                for entry in entries
            ]
        else:
            return []
        return [
            (item["TableName"], item.get("Key") or self._table(item["TableName"]).key_of(item["Item"]))
            for item in items
            if "Key" in item or "Item" in item
        ]

    def before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        pending: dict[str, Any] = {"bytes_out": int(params.get("headers", {}).get("Content-Length", 0) or 0)}
        if model.service_model.service_name == "dynamodb" and params.get("body"):
            request = json.loads(params["body"])
            written = self._writes(model.name, request)
            pending |= {
                "request": request,
                "written": [(table, key, self._read(table, key)) for table, key in written],
            }
        pending["started"] = time.perf_counter()  # after the recorder's own reads
        self._pending.call = pending

    def after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        ended = time.perf_counter()
        pending: dict[str, Any] = getattr(self._pending, "call", {}) or {}
        self._pending.call = {}
        service, operation = model.service_model.service_name, model.name
        line: dict[str, Any] = {
            "pid": os.getpid(),
            "thread": threading.current_thread().name,
            "service": service,
            "operation": operation,
            "status": http_response.status_code,
            # The request's time as the caller waited for it (for a streamed body, until its headers came).
            "ms": round((ended - pending.get("started", ended)) * 1000, 2),
            "bytes_out": pending.get("bytes_out", 0),
        }
        if service == "s3" and operation == "GetObject":
            line["bytes_in"] = parsed.get("ContentLength", 0)  # streamed to the caller after the headers
        if service == "sqs" and operation == "ReceiveMessage":
            line["messages"] = len(parsed.get("Messages", []))
        if service == "dynamodb":
            line |= self._capacity(operation, pending, http_response)
        with self._lock, self._path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    def _capacity(self, operation: str, pending: dict[str, Any], http_response: Any) -> dict[str, float]:
        if "written" in pending and pending["written"]:
            units = sum(
                self._table(table).write_units(before, self._read(table, key))
                for table, key, before in pending["written"]
            )
            return {"wru": units * (2 if operation == "TransactWriteItems" else 1)}
        if operation in _READS and http_response.status_code == 200:
            answer = json.loads(http_response.content or b"{}")
            items = [answer["Item"]] if "Item" in answer else answer.get("Items", [])
            consistent = pending.get("request", {}).get("ConsistentRead", False)
            size = sum(item_size(item) for item in items)
            return {"rru": _kb_units(size, 4096) * (1 if consistent else 0.5)}
        return {}
