"""local/jobs.py: the access-log shipper (CloudWatch Logs' subscription, locally) across restarts, and the log
context of invocations that run at once in the one local process."""

from __future__ import annotations

import base64
import gzip
import json
import sys
import threading
import time
import types

import pytest

from chalicelib.observability import logger
from local.jobs import LocalLambdaContext, local_invocation, ship_access_log


@pytest.fixture
def shipped_lines(monkeypatch):
    """What reaches CountRefusals: the handler app.py declares, replaced by one that keeps the lines."""
    received: list[str] = []

    def count_refusals(event, _context):
        data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
        received.extend(entry["message"] for entry in data["logEvents"])
        return {"refusals": 0}

    monkeypatch.setitem(sys.modules, "app", types.SimpleNamespace(count_refusals=count_refusals))
    return received


def ship_until(path, received, count: int) -> None:
    """Run one shipper (one jobs process) until `count` lines have arrived, then stop it."""
    stop = threading.Event()
    shipper = threading.Thread(target=ship_access_log, args=(path, stop))
    shipper.start()
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    shipper.join()


def test_a_restarted_shipper_sends_only_the_lines_written_since(tmp_path, shipped_lines):
    log = tmp_path / "api-access.jsonl"
    log.write_text('{"line": 1}\n{"line": 2}\n')
    ship_until(log, shipped_lines, 2)
    with log.open("a") as more:
        more.write('{"line": 3}\n')

    ship_until(log, shipped_lines, 3)  # the next run of the local archive (one that started over sends 1-3)

    assert shipped_lines == ['{"line": 1}', '{"line": 2}', '{"line": 3}']


def test_an_invocation_logs_its_own_function_while_another_runs_beside_it(logged_lines):
    """Two functions at once, each under Powertools' inject_lambda_context as app.py's handlers are: the first
    one's line written after the second started still names the first (the shared keys name the second)."""
    second_started = threading.Event()

    @logger.inject_lambda_context
    def ingest(_event, _context):
        second_started.wait(10)
        logger.info("ingest's line")

    @logger.inject_lambda_context
    def expire_retention(_event, _context):
        logger.info("expire's line")
        second_started.set()

    def invoke(handler, name: str) -> None:
        context = LocalLambdaContext(name, aws_request_id=f"request-of-{name}")
        with local_invocation(context, records=1):
            handler({}, context)

    first = threading.Thread(target=invoke, args=(ingest, "ingest"))
    first.start()
    invoke(expire_retention, "expire_retention")
    first.join()

    named = {(line["message"], line.get("function")): line for line in logged_lines()}
    assert named[("ingest's line", None)]["function_name"] == "ingest"
    assert named[("ingest's line", None)]["function_request_id"] == "request-of-ingest"
    assert named[("expire's line", None)]["function_name"] == "expire_retention"
    assert named[("invocation", "ingest")]["function_name"] == "ingest"
    assert named[("invocation", "expire_retention")]["function_request_id"] == "request-of-expire_retention"
