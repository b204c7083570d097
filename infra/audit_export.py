"""Export a site's audit trail for an outsider: `python -m infra.audit_export --stack NAME --site SITE --out DIR`.

A command, not an API route: a court's expert or a supervisory authority gets a folder they can keep and
check offline, however long the trail (a route answers within 29 s and 6 MB), and whoever makes it needs
read access to the audit table and the digest bucket, as an AWS auditor role has. The exporter need not be
trusted: the events are checked against digests signed by a key only the digest function can use, and
every version of every digest is exported, delete markers included, so leaving anything out or rewriting
it shows. The folder (README "Checking the trail without us"):

    manifest.json    site, time of export, the audit key's id and public key fingerprint
    events.jsonl     every event of the site's segments, as stored (one JSON object a line)
    digests.jsonl    every version of every digest object: key, version id, delete marker, lock, body
    public_key.pem   the audit key's public key (kms:GetPublicKey); compare its fingerprint with yours
    audit_verify.py  the verifier (Python 3 + `cryptography`): python3 audit_verify.py . --public-key KEY
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

from chalicelib.domain import audit_verify
from chalicelib.domain.timeutil import iso
from chalicelib.store.audit import AuditLog
from chalicelib.store.digests import AuditDigests
from infra.deployment import physical_ids

EXPORT_FORMAT = "safe-society/audit-export/1"


def export_trail(
    audit: AuditLog, digests: AuditDigests, kms: Any, site: str, out: Path, now: datetime
) -> dict[str, Any]:
    """Write the export of `site` into `out` (created); its manifest."""
    out.mkdir(parents=True, exist_ok=False)
    events = list(audit.chain(site))
    versions = digests.versions(site)
    key_ids = sorted({key for key in (_key_id(v.body) for v in versions if v.body) if key})
    _write_lines(out / "events.jsonl", (json.dumps(event, ensure_ascii=False) for event in events))
    _write_lines(out / "digests.jsonl", (json.dumps(v.as_json(), ensure_ascii=False) for v in versions))
    manifest: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "site": site,
        "exported_at": iso(now),
        "events": len(events),
        "digest_versions": len(versions),
        "key_ids": key_ids,
    }
    if key_ids:
        # The key the digests name; rotation would name more, and each would be exported beside it.
        der = kms.get_public_key(KeyId=key_ids[-1])["PublicKey"]
        pem = load_der_public_key(der).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        (out / "public_key.pem").write_bytes(pem)
        manifest["public_key_sha256"] = hashlib.sha256(der).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.copyfile(audit_verify.__file__, out / "audit_verify.py")
    return manifest


def _key_id(body: bytes) -> str | None:
    try:
        key_id = json.loads(body)["payload"]["key_id"]
    except (ValueError, KeyError, TypeError):
        return None  # not a digest: the verifier reports it
    return key_id if isinstance(key_id, str) else None


def _write_lines(path: Path, lines: Any) -> None:
    with path.open("w", encoding="utf-8") as file:
        for line in lines:
            file.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="the CloudFormation stack of the deployment")
    parser.add_argument("--site", required=True, help="the site whose trail to export ('-': refused logins)")
    parser.add_argument("--out", type=Path, required=True, help="a folder to create for the export")
    arguments = parser.parse_args()
    physical = physical_ids(arguments.stack)
    audit = AuditLog(boto3.resource("dynamodb").Table(physical["AuditTable"]), lambda _site: True)
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    digests = AuditDigests(s3, physical["AuditDigestBucket"])
    manifest = export_trail(audit, digests, boto3.client("kms"), arguments.site, arguments.out, datetime.now(UTC))
    print(json.dumps(manifest, indent=2, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
