"""local/jobs.py's access-log shipper (CloudWatch Logs' subscription, locally) across restarts."""

from __future__ import annotations

import base64
import gzip
import json
import sys
import threading
import time
import types

import pytest

from local.jobs import ship_access_log


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
