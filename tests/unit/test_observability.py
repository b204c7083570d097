"""Powertools on every invocation (chalicelib.observability): the Lambda context in each log line, metrics
flushed with a cold start metric, the Tracer only where X-Ray is on and never at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.observability import tracing_active

ROOT = Path(__file__).resolve().parents[2]


def run_in_lambda_like_process(script: str, **environ: str) -> list[dict[str, Any]]:
    """Run `script` in a process of its own, as a function's container is (logging set up by nothing else that a
    test session imported), and the JSON lines it printed."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PATH": "", "PYTHONPATH": str(ROOT), "POWERTOOLS_METRICS_DISABLED": "false"} | environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_an_invocation_logs_its_lambda_context_and_flushes_metrics_with_a_cold_start() -> None:
    script = (
        "from chalicelib.observability import logger, metrics, observed\n"
        "from local.jobs import LocalLambdaContext\n"
        "class Event: context = LocalLambdaContext('expire_retention', aws_request_id='req-1')\n"
        "def handle(event):\n"
        "    logger.info('sweeping')\n"
        "    metrics.add_metric(name='Expired', unit='Count', value=2)\n"
        "    return 'done'\n"
        "assert observed(Event(), handle) == 'done'\n"
    )
    printed = run_in_lambda_like_process(script)

    (logged,) = [line for line in printed if line.get("message") == "sweeping"]
    assert (logged["function_name"], logged["function_request_id"]) == ("expire_retention", "req-1")
    assert logged["cold_start"] is True
    flushed = [line for line in printed if "_aws" in line]
    assert any(line.get("Expired") == [2.0] for line in flushed)
    assert any(line.get("ColdStart") == [1.0] for line in flushed)


@pytest.mark.parametrize("authorizer", ["official_auth", "gateway_auth"])
def test_an_authorizer_invocation_logs_its_lambda_context_and_flushes_a_cold_start(authorizer: str) -> None:
    """Chalice runs no middleware around authorizers: they are observed by their own class, called as Lambda
    (and chalice local) calls them, with the event and the context."""
    script = (
        "import json\n"
        "import app\n"
        "from chalicelib.api import authorizers\n"
        "from local.jobs import LocalLambdaContext\n"
        "event = {'type': 'TOKEN', 'authorizationToken': 'Basic x',\n"
        "         'methodArn': 'arn:aws:execute-api:eu-north-1:123456789012:a1/api/GET/sites'}\n"
        f"answer = authorizers.{authorizer}(event, LocalLambdaContext('{authorizer}', aws_request_id='req-auth'))\n"
        "print(json.dumps({'refused': answer['principalId'] == 'anonymous'}))\n"
    )
    printed = run_in_lambda_like_process(script)

    (refused,) = [line for line in printed if line.get("message") == "credentials refused"]
    assert (refused["function_name"], refused["function_request_id"]) == (authorizer, "req-auth")
    assert refused["cold_start"] is True
    assert any(line.get("ColdStart") == [1.0] and line.get("function_name") == authorizer for line in printed)
    assert printed[-1] == {"refused": True}


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
        "import json\n"
        "print(json.dumps({'x_ray_sdk_loaded': 'aws_xray_sdk' in sys.modules}))\n"
    )
    printed = run_in_lambda_like_process(
        script,
        AWS_LAMBDA_FUNCTION_NAME="api",
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
        AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
    )
    assert printed[-1] == {"x_ray_sdk_loaded": True}
    assert any(line.get("ColdStart") == [1.0] for line in printed)  # the process's first invocation is cold
