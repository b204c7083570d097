"""Audit chain digests in the Object Lock bucket: one object per site and interval, every version read back.

Each digest is written once, under COMPLIANCE retention, to a key fixed by its site and boundary; nobody
(root included) can delete or overwrite that version before its retention ends. What anyone with write
access can still do is add a delete marker or a second version over it: reading every version is what
turns both into breaks instead of hiding the digest.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.audit_verify import DigestVersion
from chalicelib.domain.timeutil import iso


def digest_key(site: str, at: datetime) -> str:
    return f"{_prefix(site)}{iso(at)}.json"


def _prefix(site: str) -> str:
    return f"digests/{site}/"


class AuditDigests:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def write(self, site: str, at: datetime, document: dict[str, Any], retain_until: datetime) -> bool:
        """Store a digest unless its interval has one already (a schedule may fire twice); True if written."""
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=digest_key(site, at),
                Body=json.dumps(document, ensure_ascii=False).encode(),
                ContentType="application/json",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=retain_until,
                IfNoneMatch="*",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"PreconditionFailed", "ConditionalRequestConflict"}:
                return False
            raise
        return True

    def read(self, site: str, at: datetime) -> dict[str, Any] | None:
        """The current version of the digest of `at`, if there is one to read."""
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=digest_key(site, at))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "MethodNotAllowed"}:
                return None
            raise
        document: dict[str, Any] = json.loads(body)
        return document

    def versions(self, site: str) -> list[DigestVersion]:
        """Every version and delete marker of every digest of a site, each version's body and lock."""
        found: list[DigestVersion] = []
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=_prefix(site)):
            found += [
                DigestVersion(key=marker["Key"], version_id=marker["VersionId"], delete_marker=True)
                for marker in page.get("DeleteMarkers", [])
            ]
            found += [self._version(entry["Key"], entry["VersionId"]) for entry in page.get("Versions", [])]
        return found

    def _version(self, key: str, version_id: str) -> DigestVersion:
        stored = self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        return DigestVersion(
            key=key,
            version_id=version_id,
            body=stored["Body"].read(),
            lock_mode=stored.get("ObjectLockMode"),
            retain_until=stored.get("ObjectLockRetainUntilDate"),
        )
