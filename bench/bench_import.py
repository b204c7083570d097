"""The functions' cold start in Python: `import app` against a bare `import boto3`, fresh processes, paired.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_import.py [--rounds 15] [--before main]`. Each round starts a
fresh interpreter for the baseline and then for each command (a drift in the machine's speed moves them all), and
takes each ratio against that round's baseline; medians are printed (≤ 1.5× wanted for `import app`).

`import app` is Lambda's init: every function (API, authorizers, queues, schedules) imports app.py once per
container. What it defers is paid by a function's first event instead, so the table also times `import app` and
the API's first request: a gateway's clip registration refused (400) for its body - pydantic, the route's models
and the validation, everything but the AWS calls. `--before REF` adds both rows for app.py and chalicelib as of git
REF (unpacked in a temporary folder), for a before/after in one run.

Also which heavy packages `import app` loaded: the API path must load neither `av` nor `PIL` (nor the X-Ray SDK,
nor Powertools' batch utility, nor pydantic, which the first event imports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.code_before import code_as_of

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("av", "PIL", "aws_xray_sdk", "aws_lambda_powertools.utilities.batch", "pyrage", "pydantic")
BASELINE = "import boto3"
IMPORT_APP = "import app"
# API Gateway's proxy event as the API function receives it, the gateways' authorizer having passed.
FIRST_REQUEST = """
import json
import app

class Context:
    function_name, aws_request_id, memory_limit_in_mb, invoked_function_arn = "api", "bench", 1024, ""

    def get_remaining_time_in_millis(self):
        return 30_000

request = {
    "resource": "/gateway/clips", "path": "/gateway/clips", "httpMethod": "POST",
    "headers": {"content-type": "application/json"}, "multiValueHeaders": {"content-type": ["application/json"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
    "stageVariables": None, "body": json.dumps({"camera_id": "cam-1", "size": 1}), "isBase64Encoded": False,
    "requestContext": {
        "resourcePath": "/gateway/clips", "httpMethod": "POST", "path": "/api/gateway/clips", "stage": "api",
        "apiId": "bench", "authorizer": {"principal_id": "gateway:gw-1", "role": "gateway", "sites": "site-1"},
    },
}
answer = app.app(request, Context())
assert answer["statusCode"] == 400 and json.loads(answer["body"])["error"] == "invalid_request", answer
"""


def environment(code: Path) -> dict[str, str]:
    variables = os.environ | {"PYTHONPATH": str(code), "AWS_LAMBDA_FUNCTION_NAME": "bench"}
    # Bytecode written and read, as from an installed package: with PYTHONDONTWRITEBYTECODE set (as some shells
    # have it) every module changed since its last .pyc was compiled again in each round, and timed with it.
    variables.pop("PYTHONDONTWRITEBYTECODE", None)
    return variables


def timed(statement: str, code: Path) -> float:
    started = time.perf_counter()
    # The first request's metrics (EMF lines on stdout) and Powertools' warnings are not the bench's output.
    subprocess.run(
        [sys.executable, "-c", statement],
        env=environment(code),
        cwd=code,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def loaded_by_import_app(code: Path) -> str:
    statement = f"import sys, app; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    return subprocess.run(
        [sys.executable, "-c", statement], env=environment(code), cwd=code, check=True, capture_output=True, text=True
    ).stdout.strip()


def table(rows: dict[str, tuple[str, Path]], rounds: int) -> None:
    for statement, code in rows.values():
        timed(statement, code)  # warm the file cache and the bytecode
    seconds: dict[str, list[float]] = {name: [] for name in rows}
    ratios: dict[str, list[float]] = {name: [] for name in rows}
    baseline: list[float] = []
    for _ in range(rounds):
        baseline.append(timed(BASELINE, ROOT))
        for name, (statement, code) in rows.items():
            seconds[name].append(timed(statement, code))
            ratios[name].append(seconds[name][-1] / baseline[-1])
    print(f"{rounds} paired rounds, wall time of a fresh interpreter, medians")
    print("| command | s | ratio |\n|---|---:|---:|")
    print(f"| {BASELINE} (baseline) | {statistics.median(baseline):.3f} | 1.00× |")
    for name in rows:
        print(f"| {name} | {statistics.median(seconds[name]):.3f} | {statistics.median(ratios[name]):.2f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", help="also app.py and chalicelib as of this git ref (e.g. main)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        codes = {"": ROOT} | (
            {f" ({arguments.before})": code_as_of(arguments.before, Path(work), "app.py", "chalicelib")}
            if arguments.before
            else {}
        )
        rows: dict[str, tuple[str, Path]] = {}
        for label, code in codes.items():
            rows[f"{IMPORT_APP}{label}"] = (IMPORT_APP, code)
            rows[f"{IMPORT_APP} + the API's first request{label}"] = (FIRST_REQUEST, code)
        table(rows, arguments.rounds)
        for label, code in codes.items():
            loaded = loaded_by_import_app(code) or "none"
            print(f"heavy packages import app{label} loaded: {loaded} (of {', '.join(HEAVY)})")


if __name__ == "__main__":
    main()
