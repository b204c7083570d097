"""moto in server mode, with DynamoDB requests served one at a time, memory that stays flat and, with
`--state-dir`, every service's state kept across restarts (local/moto_state.py).

Real DynamoDB applies a conditional write, or a transaction, atomically. moto's server handles requests
on parallel threads without locking its tables, so two conditional writes can both pass their condition
(measured: the audit chain's append transaction left an event behind without moving the head). Serializing
DynamoDB requests, and only those (S3 uploads and SQS long polls stay parallel), restores that guarantee.

Patches of moto 5.2.5 (`patch_moto`) keep a long-running local archive's memory flat:
- moto's `BaseModel.__new__` appends every model instance it ever creates to a class-level list, kept for
  its web dashboard only: every DynamoDB item written, every S3 object version (with its bytes) stays
  reachable after it is overwritten or deleted.
- `transact_write_items` deep-copies every table a transaction names, as a backup to roll back to. With the
  list above, each copy stayed in memory for good (each audited request is a two-item transaction on the
  audit table: ≈ 11 MB more per request once the table held a few thousand events); without it the copies
  are freed, but each still costs time in proportion to the table. Instead the transaction keeps copies of
  the items it names only, and puts exactly those back if it fails.
And two keep it fast: DynamoDB reads answer without moto's member-by-member serializer, and the service
behind a host is looked up once.

One makes S3 keep its word on checksums as real S3 does: a PUT that declares x-amz-checksum-sha256 (the
archive signs it into every presigned upload) is refused with 400 BadDigest unless the body has that
SHA-256, and a stored one keeps it (HeadObject reports it) and is answered with it. moto 5.2.5 takes the
header only beside x-amz-sdk-checksum-algorithm, never checks it, and answers without it; the gateway
agent trusts exactly that answer, so locally it must mean what it means on AWS.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import json
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import moto.dynamodb.models as dynamodb_models
from moto.core.common_models import BaseModel
from moto.core.responses import TYPE_RESPONSE, ActionContext, ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.s3.exceptions import S3ClientError
from moto.s3.responses import S3Response
from werkzeug.serving import run_simple

from local.moto_state import MotoState, SavedStateMismatch

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ExecuteResult = Callable[[ActionResult, ActionContext], TYPE_RESPONSE]


def serialize_dynamodb(app: WsgiApp) -> WsgiApp:
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with lock:
            # Drain the response inside the lock: the write happens while it is produced.
            return list(app(environ, start_response))

    return application


def _untracked_new(cls: type[BaseModel], *_: Any, **__: Any) -> Any:
    return super(BaseModel, cls).__new__(cls)


def _deepcopy_all_but_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """moto's backup of a whole table becomes the live table itself: rolling back to it changes nothing,
    and `_with_item_undo` puts back what the transaction changed."""
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


SavedItem = tuple[Table, Any, Any, Any]  # table, hash key, range key (None: hash-only table), item before


def _items_named(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[SavedItem]:
    """A copy of each item the transaction names, as it is before the transaction."""
    saved = []
    for entry in transact_items:
        for operation in entry.values():
            table = backend.tables.get(operation.get("TableName", ""))
            key = operation.get("Key") or operation.get("Item") or {}
            if table is None or any(name not in key for name in table.table_key_attrs):
                continue  # moto refuses the operation before it writes anything
            hash_key, range_key = backend.get_keys_value(table, key)
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    return saved


def _put_back(saved: list[SavedItem]) -> None:
    # Newest first: an item named twice ends as it was before the first.
    for table, hash_key, range_key, before in reversed(saved):
        rows = table.items[hash_key] if range_key is not None else table.items
        slot = range_key if range_key is not None else hash_key
        if before is None:
            rows.pop(slot, None)
        else:
            rows[slot] = before


def _with_item_undo(transact: Callable[[DynamoDBBackend, list[dict[str, Any]]], None]) -> Callable[..., None]:
    def transact_write_items(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = _items_named(backend, transact_items)
        try:
            transact(backend, transact_items)
        except Exception:
            _put_back(saved)
            raise

    return transact_write_items


# Reads that answer with items. moto 5.2.5 writes every answer by walking the service model member by member:
# some 1,400 calls for an item of 14 attributes, so a page of 50 audit events cost 0.2 s of moto's one core.
# The items are DynamoDB JSON already (bytes aside, which the model would write in base64); these answers
# are written as they are, with the members the model declares.
_ITEM_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})


def _base64(value: Any) -> str:
    if not isinstance(value, bytes):
        raise TypeError(f"{type(value).__name__} in an item")
    return base64.b64encode(value).decode()


def _items_as_they_are(execute_result: ExecuteResult) -> ExecuteResult:
    def execute(result: ActionResult, context: ActionContext) -> TYPE_RESPONSE:
        if context.operation_model.name not in _ITEM_READS:
            return execute_result(result, context)
        members = context.operation_model.output_shape.members
        answer = {name: value for name, value in cast(dict[str, Any], result.result).items() if name in members}
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(answer, default=_base64)

    return execute


PutObject = Callable[[S3Response], TYPE_RESPONSE]


def _verified_sha256(put_object: PutObject) -> PutObject:
    def put(response: S3Response) -> TYPE_RESPONSE:
        declared = response.headers.get("x-amz-checksum-sha256")
        if not declared or response.headers.get("x-amz-sdk-checksum-algorithm"):
            return put_object(response)  # boto3's own checksums: moto handles those
        body = response.body if isinstance(response.body, bytes) else str(response.body or "").encode()
        if base64.b64encode(hashlib.sha256(body).digest()).decode() != declared:
            raise S3ClientError("BadDigest", "The SHA256 you specified did not match the calculated checksum.")
        status, headers, answer = put_object(response)
        stored = response.backend.get_object(response.bucket_name, response.parse_key_name())
        if stored is not None:
            stored.checksum_algorithm, stored.checksum_value = "SHA256", declared
        return status, {**headers, "x-amz-checksum-sha256": declared}, answer

    return put


def patch_moto() -> None:
    """Apply the patches described above; once per process, before the first request."""
    BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]
    # moto finds each request's service by listing its own package directory (some 200 isdir calls) and
    # trying every service's URL patterns, for every request: the answer for a host never changes.
    DomainDispatcherApplication.get_backend_for_host = functools.cache(  # type: ignore[method-assign]
        DomainDispatcherApplication.get_backend_for_host
    )
    # The module's own name `copy` is only used for these backups and for one item's copy in update_item.
    dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy_all_but_tables)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _with_item_undo(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    DynamoResult.execute_result = _items_as_they_are(DynamoResult.execute_result)  # type: ignore[method-assign,assignment]
    keep_s3_checksums()


def keep_s3_checksums() -> None:
    """S3 PUTs checked against their x-amz-checksum-sha256 (above), in this process: moto's server, or moto in
    process (mock_aws) in the integration tests. Once, however often called."""
    if not getattr(S3Response.put_object, "checks_sha256", False):
        checked = _verified_sha256(S3Response.put_object)
        checked.checks_sha256 = True  # type: ignore[attr-defined]
        S3Response.put_object = checked  # type: ignore[method-assign,assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, help="keep every service's state here across restarts")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.environ.setdefault("MOTO_PORT", str(arguments.port))
    patch_moto()
    app: WsgiApp = DomainDispatcherApplication(create_backend_app)
    state = MotoState(arguments.state_dir) if arguments.state_dir else None
    if state:
        try:
            replayed, refused = state.restore(app)
        except SavedStateMismatch as mismatch:
            sys.exit(f"{mismatch}: start with --fresh (the saved data is then lost), or with that moto")
        print(
            f"state from {arguments.state_dir}: snapshot, then {replayed} requests replayed ({refused} refused)",
            flush=True,
        )
        app = state.wrap(app)
        threading.Thread(target=state.run_snapshots, name="snapshots", daemon=True).start()
    try:
        run_simple(
            arguments.host, arguments.port, serialize_dynamodb(app), threaded=True, request_handler=MotoRequestHandler
        )
    finally:
        if state:
            state.snapshot()


if __name__ == "__main__":
    main()
