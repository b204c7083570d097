"""The functions' cold start in Python: `import app` against a bare `import boto3`, fresh processes, paired.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_import.py [--rounds 15]`. Each round starts a fresh interpreter
for each command, in turn (A B A B ...: a drift in the machine's speed moves both), and takes the ratio pair by
pair; medians are printed (≤ 1.5× wanted). Also which heavy packages `import app` loaded: the API path must load
neither `av` nor `PIL` (nor the X-Ray SDK, nor Powertools' batch utility).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("av", "PIL", "aws_xray_sdk", "aws_lambda_powertools.utilities.batch", "pyrage")


def timed(statement: str) -> float:
    environment = os.environ | {"PYTHONPATH": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "bench"}
    # Bytecode written and read, as from an installed package: with PYTHONDONTWRITEBYTECODE set (as some shells
    # have it) every module changed since its last .pyc was compiled again in each round, and timed with it.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], env=environment, cwd=ROOT, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    timed("import app")  # warm the file cache and the bytecode
    app_s, boto3_s = [], []
    for _ in range(arguments.rounds):
        app_s.append(timed("import app"))
        boto3_s.append(timed("import boto3"))
    ratios = [a / b for a, b in zip(app_s, boto3_s, strict=True)]
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, app; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"],
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"{arguments.rounds} paired rounds, wall time of a fresh interpreter, medians")  # noqa: T201
    print("| command | s | ratio |\n|---|---:|---:|")  # noqa: T201
    print(f"| import boto3 (baseline) | {statistics.median(boto3_s):.3f} | 1.00× |")  # noqa: T201
    print(f"| import app | {statistics.median(app_s):.3f} | {statistics.median(ratios):.2f}× |")  # noqa: T201
    print(f"heavy packages import app loaded: {loaded or 'none'} (of {', '.join(HEAVY)})")  # noqa: T201


if __name__ == "__main__":
    main()
