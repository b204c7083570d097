"""The README's examples, pasted as they stand into bash in a directory like the checkout (its
`.local-run/run-info.json`), against the local stack: only the API's port differs from run-local's default."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from gateway.clipmaker import make_clip
from local.stack import ROOT, RunInfo

pytestmark = pytest.mark.e2e
EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+)[^>]*-->\n```sh\n(?P<script>.*?)\n```", re.DOTALL)
DEFAULT_API = "API=http://127.0.0.1:8000"


def readme_examples() -> dict[str, str]:
    return {match["name"]: match["script"] for match in EXAMPLE.finditer((ROOT / "README.md").read_text())}


def paste(script: str, archive: RunInfo, workdir: Path) -> subprocess.CompletedProcess[str]:
    assert script.count(DEFAULT_API) == 1, "each example says which API it talks to, once"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(DEFAULT_API, f"API={archive.api_url}")],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_readme_names_its_examples():
    assert set(readme_examples()) >= {"gateway-upload", "gateway-batch", "official-view"}


def test_the_gateway_upload_and_the_officials_view_work_as_pasted(archive, tmp_path):
    (tmp_path / ".local-run").mkdir()
    (tmp_path / ".local-run" / "run-info.json").write_text(json.dumps(archive.as_json(tmp_path / "run-info.json")))
    examples = readme_examples()
    # The NVR's clip, as the example expects one at hand (without one it makes its own with ffmpeg).
    make_clip(tmp_path / "clip.mp4", seconds=4, width=640, height=360, fps=10, label="README example")

    uploaded = paste(examples["gateway-upload"], archive, tmp_path)
    assert uploaded.returncode == 0, uploaded.stderr
    state = json.loads((tmp_path / "state.json").read_text())
    assert (state["status"], state["received"]) == ("indexed", True), state

    viewed = paste(examples["official-view"], archive, tmp_path)
    assert viewed.returncode == 0, viewed.stderr
    clips = json.loads((tmp_path / "clips.json").read_text())["clips"]
    assert clips[0]["clip_id"] == state["clip_id"]
    original = hashlib.sha256((tmp_path / "clip.mp4").read_bytes()).hexdigest()
    assert hashlib.sha256((tmp_path / "viewed.mp4").read_bytes()).hexdigest() == original == clips[0]["sha256"]


def test_the_batch_registration_works_as_pasted(archive, tmp_path):
    (tmp_path / ".local-run").mkdir()
    (tmp_path / ".local-run" / "run-info.json").write_text(json.dumps(archive.as_json(tmp_path / "run-info.json")))

    registered = paste(readme_examples()["gateway-batch"], archive, tmp_path)

    assert registered.returncode == 0, registered.stderr
    first = json.loads((tmp_path / "batch-registered.json").read_text())["clips"]
    again = json.loads((tmp_path / "batch-again.json").read_text())["clips"]
    assert [(item["status"], item["clip"]["upload"]["method"]) for item in first] == [(201, "PUT"), (201, "PUT")]
    assert [item["status"] for item in again] == [200, 200]
    assert [item["clip"]["clip_id"] for item in again] == [item["clip"]["clip_id"] for item in first]
