"""schemathesis against the local archive, with an official's and a gateway's token: no answer is a 5xx and
every answer conforms to /openapi.json (status, content type, headers, body schema)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e
# Bounded for the test command's budget: about 260 cases over the 57 operations (about 30 s here).
EXAMPLES_PER_OPERATION = 5
SEED = 2026
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
CONFIG = """
[auth.openapi.official]
bearer = "${OFFICIAL_TOKEN}"
[auth.openapi.gateway]
bearer = "${GATEWAY_TOKEN}"
"""


def test_every_answer_conforms_to_the_document_and_none_is_a_5xx(archive, api, tmp_path, capsys):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    tokens = {  # in the environment, not on a command line
        "OFFICIAL_TOKEN": api.id_token("dpo-aizkraukle", DEMO_PASSWORD),
        "GATEWAY_TOKEN": archive.gateways["aizkraukle"]["token"],
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(config),
            "run",
            f"{archive.api_url}/openapi.json",
            "--phases",
            "fuzzing",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            str(SEED),
            "--checks",
            ",".join(CHECKS),
        ],
        env=os.environ | tokens,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    figures = re.search(r"(\d+) generated, .*", result.stdout)
    with capsys.disabled():
        print(f"\n[schemathesis] {figures.group(0) if figures else 'no summary'}")
    assert result.returncode == 0, result.stdout[-6000:]
    assert figures is not None
    assert int(figures.group(1)) >= 100
