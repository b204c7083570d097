"""The redaction function's image (infra/redaction/Dockerfile) on Lambda's arm64, which this machine is not.

scripts/run-tests builds the image itself (scripts/build-redaction-image) and the end-to-end tests run the
redaction function as that image, but on this machine's architecture and a stand-in for AWS's base. What
arm64 adds is checked here: the image's Python layer is what `pip install -r requirements-redaction.txt` puts
into Lambda's arm64 Python 3.13 base image, so pip installs the same requirements into a directory for that
platform, as it would choose them there (about 15 s from pip's cache, a few minutes from PyPI), and the tests
judge what it chose. The layer is
far over the 250 MB a zip package may unzip to (about 440 MB: ONNX Runtime, OpenCV, numpy, PyAV and their
libraries), which is why the function is an image and the API's zip does without all of it.
"""

from __future__ import annotations

import importlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from redaction.models import MODELS, checked
from tests.lambda_wheels import LAMBDA_PIP_PLATFORM, foreign_wheels, wheel_tags

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra" / "redaction" / "Dockerfile"
# Lambda's limit on a container image, uncompressed, all layers (the base image's ~600 MB among them).
IMAGE_LIMIT_BYTES = 10 * 1024**3
ELF_MAGIC = b"\x7fELF"
ELF_MACHINE_AARCH64 = 183  # e_machine of an arm64 ELF file


@pytest.fixture(scope="module")
def image_site_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("redaction-image") / "site-packages"
    result = subprocess.run(  # noqa: S603 (our own interpreter, our own requirements)
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *LAMBDA_PIP_PLATFORM,
            "--target",
            str(target),
            "-r",
            "requirements-redaction.txt",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"pip could not install the image's requirements for arm64:\n{result.stderr}"
    return target


def _dockerfile_instructions() -> list[tuple[str, str]]:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines if line and not line.startswith("#")
    ]


@pytest.mark.packaging
def test_every_wheel_of_the_image_runs_on_lambda_arm64(image_site_packages: Path) -> None:
    wheels = {
        metadata.parent.name: wheel_tags(metadata.read_text(encoding="utf-8"))
        for metadata in image_site_packages.glob("*.dist-info/WHEEL")
    }
    assert {"numpy", "opencv_python_headless", "onnxruntime", "onnx", "av", "pillow"} <= {
        name.split("-", 1)[0].lower() for name in wheels
    }
    assert foreign_wheels(wheels) == {}


@pytest.mark.packaging
def test_the_image_native_code_is_arm64(image_site_packages: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [path for path in image_site_packages.rglob("*") if path.is_file()]
    libraries = [path for path in files if ".so" in path.suffixes or path.name.endswith(".so")]
    machines = {path.relative_to(image_site_packages).as_posix(): _elf_machine(path) for path in libraries}
    size = sum(path.stat().st_size for path in files)
    with capsys.disabled():
        print(f"\n[packaging] redaction image, Python layer: {size / 1e6:.0f} MB in {len(files)} files")
    assert len(machines) > 50  # numpy's, OpenCV's, ONNX Runtime's, PyAV's extensions and their libraries
    assert {name: machine for name, machine in machines.items() if machine != ELF_MACHINE_AARCH64} == {}
    assert size < IMAGE_LIMIT_BYTES


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as file:
        header = file.read(20)
    if not header.startswith(ELF_MAGIC):
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")  # EI_DATA: 1 little-endian


def test_the_dockerfile_builds_from_the_repository_and_starts_the_handler() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "public.ecr.aws/lambda/python:3.13-arm64")
    for _, arguments in (instruction for instruction in instructions if instruction[0] == "COPY"):
        *sources, _destination = shlex.split(arguments)
        assert all((ROOT / source).exists() for source in sources), f"COPY {arguments}: a source is missing"
    (command,) = [arguments for keyword, arguments in instructions if keyword == "CMD"]
    (handler,) = json.loads(command)  # the exec form: Lambda's runtime interface client takes module.function
    module_name, _, function_name = handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), function_name))


def test_the_image_fetches_the_models_it_loads() -> None:
    """The Dockerfile's `python -m redaction.models fetch` puts every model the detectors load in place (set-up
    ran the same here): each file is the pinned one, its licence beside it."""
    assert ("RUN", "python -m redaction.models fetch") in _dockerfile_instructions()
    for model in MODELS:
        path = checked(model)
        assert path.with_name(f"{path.name}.LICENSE").stat().st_size > 0
