"""The packages in pyproject.toml: each extra holds what its users import, requirements*.txt follow them."""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
OURS = {"chalicelib", "gateway", "admin", "app", "local", "infra", "redaction"}


def requirement_lines(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def distribution(requirement: str) -> str:
    return Requirement(requirement).name.lower().replace("_", "-")


def module_file(module: str) -> Path | None:
    parts = module.split(".")
    for candidate in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(start: list[Path]) -> set[str]:
    """Top-level names of every module outside the project and the standard library that `start` imports,
    following the project's own modules (and the packages they sit in) wherever they lead."""
    seen: set[Path] = set()
    outside: set[str] = set()
    pending = list(start)
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in OURS:
                    parts = name.split(".")
                    pending += [f for i in range(1, len(parts) + 1) if (f := module_file(".".join(parts[:i])))]
                elif top not in sys.stdlib_module_names and top != "__future__":
                    outside.add(top)
    return outside


def test_requirements_txt_is_the_lambda_extra() -> None:
    """Chalice vendors requirements.txt: it must be exactly what pyproject.toml says the functions need."""
    assert requirement_lines("requirements.txt") == EXTRAS["lambda"]


def test_requirements_dev_txt_is_the_redaction_set_and_the_dev_and_admin_extras() -> None:
    assert requirement_lines("requirements-dev.txt") == [
        "-r requirements-redaction.txt",
        *EXTRAS["dev"],
        *EXTRAS["admin"],
    ]


def test_requirements_redaction_txt_is_the_lambda_set_and_the_redaction_extra() -> None:
    assert requirement_lines("requirements-redaction.txt") == ["-r requirements.txt", *EXTRAS["redaction"]]


def test_the_redaction_extra_is_what_the_redaction_function_imports_beyond_the_lambda_set() -> None:
    imported = third_party_imports(sorted((ROOT / "redaction").glob("*.py")))
    providers = packages_distributions()
    needed = {distribution(providers[name][0]) for name in imported}
    # boto3 comes with Lambda's Python base image, as with Lambda's runtime for the other functions.
    provided = {distribution(requirement) for requirement in EXTRAS["lambda"]} | {"boto3", "botocore"}
    assert needed - provided == {distribution(requirement) for requirement in EXTRAS["redaction"]}


def test_the_api_package_imports_nothing_of_the_redaction_function() -> None:
    """Chalice packages app.py and chalicelib/ with requirements.txt: numpy, OpenCV and ONNX Runtime would not
    be there, and the API's package must not grow by them."""
    imported = third_party_imports([ROOT / "app.py"])
    assert imported.isdisjoint({"numpy", "cv2", "onnx", "onnxruntime"})


def test_the_gateway_extra_is_what_the_agent_imports_and_nothing_else() -> None:
    imported = third_party_imports(sorted((ROOT / "gateway" / "agent").glob("*.py")))
    providers = packages_distributions()
    needed = {providers[name][0].lower() for name in imported}
    assert needed == {distribution(requirement) for requirement in EXTRAS["gateway"]}


def test_the_gateway_extra_pins_what_the_lambda_set_pins() -> None:
    """One clip is probed at the edge and again in ingest: the same PyAV and age on both sides."""
    assert set(EXTRAS["gateway"]) <= set(EXTRAS["lambda"])


def test_the_admin_cli_needs_only_its_extra() -> None:
    imported = third_party_imports([ROOT / "admin" / "cli.py"])
    providers = packages_distributions()
    assert {providers[name][0].lower() for name in imported} == {distribution(r) for r in EXTRAS["admin"]}


@pytest.mark.parametrize("script", ["safe-society-gateway", "safe-society-admin"])
def test_console_scripts_name_a_main_function(script: str) -> None:
    module, _, function = PROJECT["scripts"][script].partition(":")
    assert callable(getattr(importlib.import_module(module), function))
