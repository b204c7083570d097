"""An outsider checks an exported trail with the public key alone: no AWS credentials, no archive code,
Python 3 and `cryptography` only; a rewritten trail with hidden digests fails there too."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.audit_chain import DIGEST_INTERVAL
from local.stack import ROOT, STACK_NAME
from tests.e2e.audit_lab import (
    busiest_segment,
    digest_keys,
    digest_now,
    rehash_from,
)
from tests.e2e.conftest import fire

pytestmark = pytest.mark.e2e


def export(archive, site: str, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "infra.audit_export", "--stack", STACK_NAME, "--site", site, "--out", str(out)],
        env=archive.environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def outsider_verifies(folder: Path, public_key: Path) -> subprocess.CompletedProcess[str]:
    """The export's own verifier, run isolated (-I) in a bare environment from the export's folder."""
    return subprocess.run(
        [sys.executable, "-I", "audit_verify.py", ".", "--public-key", str(public_key)],
        env={"PATH": "/usr/bin:/bin"},
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def report_of(run: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(run.stdout.split("\n", 1)[1])


@pytest.fixture
def authority_key(aws, archive, tmp_path) -> tuple[Path, str]:
    """The public key as the authority fetches it itself (kms:GetPublicKey), and its fingerprint."""
    der = aws.client("kms").get_public_key(KeyId=archive.environment["SAFE_AUDIT_SIGNING_KEY_ARN"])["PublicKey"]
    path = tmp_path / "audit-key.der"
    path.write_bytes(der)
    return path, hashlib.sha256(der).hexdigest()


def test_an_outsider_verifies_an_export_with_the_public_key_alone(lab, aws, archive, authority_key, tmp_path):
    site = lab(7)
    fire(archive, "write_audit_digests", digest_now(archive) + DIGEST_INTERVAL)
    key_path, fingerprint = authority_key

    manifest = export(archive, site, tmp_path / "export")
    run = outsider_verifies(tmp_path / "export", key_path)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == f"public key sha256 {fingerprint}"
    assert manifest["public_key_sha256"] == fingerprint
    report = report_of(run)
    # Every digest signed for the site was checked: the two fired here, and one more where the local
    # scheduler's own run reached the new site first (a boundary passed, or the stack had just started).
    signed = digest_keys(aws, archive, site)
    assert (report["intact"], report["events"], report["digests_checked"]) == (True, 7, len(signed))
    assert len(signed) >= 2


def test_an_export_of_a_rewritten_trail_with_hidden_digests_fails_the_outsiders_check(
    lab, table, aws, archive, authority_key, tmp_path
):
    site = lab(8)
    first = digest_now(archive)
    fire(archive, "write_audit_digests", first + DIGEST_INTERVAL)
    rehash_from(table, site, busiest_segment(table, site), 1, "rewritten")  # PutItem, hashes recomputed
    s3, bucket = aws.client("s3"), archive.environment["SAFE_AUDIT_DIGEST_BUCKET"]
    hidden, overwritten = digest_keys(aws, archive, site)[:2]  # a third if the scheduler's boundary passed
    s3.delete_object(Bucket=bucket, Key=hidden)  # a delete marker
    s3.put_object(Bucket=bucket, Key=overwritten, Body=b'{"payload": {}, "signature": ""}')  # a version over it

    export(archive, site, tmp_path / "export")
    run = outsider_verifies(tmp_path / "export", authority_key[0])

    assert run.returncode == 1, run.stdout + run.stderr
    problems = report_of(run)["problems"]
    assert f"digest {hidden} is hidden by 1 delete marker(s)" in problems
    assert f"digest {overwritten} has 2 versions: it was written over" in problems
    assert any("differs from the digest" in problem for problem in problems)
