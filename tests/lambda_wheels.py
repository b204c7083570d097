"""Whether a wheel runs on the functions' runtime: arm64 Amazon Linux 2023 (glibc 2.34), CPython 3.13.

Shared by the packaging tests of the API's zip (chalice package) and of the redaction function's image."""

from __future__ import annotations

import re

LAMBDA_GLIBC = (2, 34)
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# pip's --platform flags that pick, for a target directory, the wheels pip would pick on that runtime.
LAMBDA_PIP_PLATFORM = (
    "--platform=manylinux_2_28_aarch64",
    "--platform=manylinux_2_17_aarch64",
    "--platform=manylinux2014_aarch64",
    "--implementation=cp",
    "--python-version=3.13",
    "--only-binary=:all:",
)


def wheel_tags(wheel_metadata: str) -> list[str]:
    """The `Tag:` lines of a .dist-info/WHEEL file."""
    return [line.split(":", 1)[1].strip() for line in wheel_metadata.splitlines() if line.startswith("Tag:")]


def runs_on_lambda(tag: str) -> bool:
    python, abi, platform = tag.split("-")
    if platform == "any":
        return True
    glibc = LEGACY_MANYLINUX.get(platform.removesuffix("_aarch64"))
    if glibc is None and (match := re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", platform)):
        glibc = (int(match.group(1)), int(match.group(2)))
    compatible_python = python == "cp313" or (abi == "abi3" and python.startswith("cp3") and int(python[3:]) <= 13)
    return glibc is not None and glibc <= LAMBDA_GLIBC and compatible_python


def foreign_wheels(wheels: dict[str, list[str]]) -> dict[str, list[str]]:
    """Of {wheel: its tags}, the wheels none of whose tags runs on Lambda (none, if all is well)."""
    return {wheel: tags for wheel, tags in wheels.items() if not any(runs_on_lambda(tag) for tag in tags)}
