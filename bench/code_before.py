"""The project's code as of a git ref, unpacked: for a bench that runs the code before a change beside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_as_of(ref: str, work: Path, *paths: str) -> Path:
    """`paths` of the repository as of git `ref`, unpacked under `work`."""
    target = work / ref.replace("/", "-")
    target.mkdir()
    packed = subprocess.run(["git", "archive", ref, *paths], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=packed.stdout, check=True)
    return target
