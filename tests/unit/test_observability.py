"""Powertools on every invocation (chalicelib.observability): the Lambda context in each log line, metrics
flushed with a cold start metric, the Tracer only where X-Ray is on and never at import."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.observability import logger, metrics, observed, tracing_active
from local.jobs import LocalLambdaContext

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Event:
    context: Any


def test_an_invocation_logs_its_lambda_context_and_flushes_metrics_with_a_cold_start(monkeypatch, capfd) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    context = LocalLambdaContext("expire_retention", aws_request_id="req-1")
    log = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(log)

    def handle(_event: Any) -> str:
        logger.info("sweeping")
        metrics.add_metric(name="Expired", unit="Count", value=2)
        return "done"

    try:
        assert observed(Event(context), handle) == "done"
    finally:
        handler.setStream(previous)

    (logged,) = [json.loads(line) for line in log.getvalue().splitlines()]
    assert (logged["function_name"], logged["function_request_id"]) == ("expire_retention", "req-1")
    assert "cold_start" in logged
    flushed = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(line.get("Expired") == [2.0] for line in flushed)


@pytest.mark.parametrize(
    ("environ", "active"),
    [
        ({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}, True),
        ({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({}, False),  # no active tracing on the function, or not in Lambda
    ],
)
def test_tracing_is_on_only_where_x_ray_is(environ: dict[str, str], active: bool) -> None:
    assert tracing_active(environ) is active


def test_import_app_never_imports_the_tracer_which_comes_with_the_first_traced_invocation() -> None:
    script = (
        "import sys\n"
        "import app\n"
        "assert 'aws_xray_sdk' not in sys.modules, 'import app pulled in the X-Ray SDK'\n"
        "assert 'aws_lambda_powertools.utilities.batch' not in sys.modules, 'import app pulled in the batch utility'\n"
        "assert not {'av', 'PIL'} & set(sys.modules), 'import app pulled in PyAV or Pillow'\n"
        "from chalicelib.observability import observed\n"
        "from local.jobs import LocalLambdaContext\n"
        "class Event: context = LocalLambdaContext('api')\n"
        "observed(Event(), lambda event: None)\n"
        "print('aws_xray_sdk' in sys.modules)\n"
    )
    environ = {
        "PATH": "",
        "PYTHONPATH": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "api",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_METRICS_DISABLED": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=environ, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
    assert '"ColdStart":[1.0]' in result.stdout  # the first invocation of the process counts a cold start
