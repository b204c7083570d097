"""Audit chain digests in the Object Lock bucket: one object per site and interval, every version read back.

Each digest is written once, under COMPLIANCE retention, to a key fixed by its site and boundary; nobody
(root included) can delete or overwrite that version before its retention ends. What anyone with write
access can still do is add a delete marker or a second version over it: reading every version is what
turns both into breaks instead of hiding the digest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.audit_verify import DigestVersion
from chalicelib.domain.timeutil import iso, parse_time

# Objects read or re-locked at once: S3 answers each in tens of milliseconds, so one at a time is what made
# reading a week of digests (2,016 a site) take longer than API Gateway waits.
PARALLEL_REQUESTS = 16


def digest_key(site: str, at: datetime) -> str:
    return f"{_prefix(site)}{iso(at)}.json"


def boundary_of(key: str) -> datetime | None:
    """The boundary a digest's key names (None for a key that names none: verification reports it)."""
    try:
        return parse_time(key.rsplit("/", 1)[-1].removesuffix(".json").replace("Z", "+00:00"))
    except ValueError:
        return None


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

    def versions(self, site: str, start: datetime | None = None, end: datetime | None = None) -> list[DigestVersion]:
        """Every version and delete marker of every digest of a site (of the boundaries `start`..`end`, when
        given), each version's body and lock."""
        markers: list[DigestVersion] = []
        stored: list[tuple[str, str]] = []
        for page in self._pages(site, start, end):
            markers += [
                DigestVersion(key=marker["Key"], version_id=marker["VersionId"], delete_marker=True)
                for marker in page.get("DeleteMarkers", [])
                if _within(marker["Key"], start, end)
            ]
            stored += [(v["Key"], v["VersionId"]) for v in page.get("Versions", []) if _within(v["Key"], start, end)]
        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
            return markers + list(pool.map(lambda listed: self._version(listed[0], listed[1]), stored))

    def first_boundary(self, site: str) -> datetime | None:
        """The boundary of a site's first digest (none can be removed while it is locked)."""
        listed = self._s3.list_object_versions(Bucket=self._bucket, Prefix=_prefix(site), MaxKeys=1)
        entries = listed.get("Versions", []) + listed.get("DeleteMarkers", [])
        return min((at for entry in entries if (at := boundary_of(entry["Key"])) is not None), default=None)

    def extend_locks(self, site: str, lock: timedelta, since: datetime | None = None) -> int:
        """Lock every version of a site's digests (of the boundaries from `since` on, when given) at least
        `lock` past its boundary; how many were extended. COMPLIANCE retention can only be lengthened."""
        stored = [
            (version["Key"], version["VersionId"])
            for page in self._pages(site, since, None)
            for version in page.get("Versions", [])
            if _within(version["Key"], since, None)
        ]
        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
            return sum(pool.map(lambda listed: self._extend(listed[0], listed[1], lock), stored))

    def _pages(self, site: str, start: datetime | None, end: datetime | None) -> Iterator[dict[str, Any]]:
        """list_object_versions pages: of the whole site, or of each UTC day from `start` to `end` (keys begin
        with the boundary's date, so a day is a prefix; no KeyMarker, which moto does not honour as S3 does)."""
        paginator = self._s3.get_paginator("list_object_versions")
        if start is None:
            yield from paginator.paginate(Bucket=self._bucket, Prefix=_prefix(site))
            return
        # Without an end, up to tomorrow: a digest dated past today's last boundary is read too.
        day, last = start.astimezone(UTC).date(), (end or datetime.now(UTC) + timedelta(days=1)).astimezone(UTC).date()
        while day <= last:
            yield from paginator.paginate(Bucket=self._bucket, Prefix=f"{_prefix(site)}{day.isoformat()}T")
            day += timedelta(days=1)

    def _version(self, key: str, version_id: str) -> DigestVersion:
        stored = self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        return DigestVersion(
            key=key,
            version_id=version_id,
            body=stored["Body"].read(),
            lock_mode=stored.get("ObjectLockMode"),
            retain_until=stored.get("ObjectLockRetainUntilDate"),
        )

    def _extend(self, key: str, version_id: str, lock: timedelta) -> bool:
        at = boundary_of(key)
        if at is None:
            return False
        stored = self._s3.head_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        locked_until = stored.get("ObjectLockRetainUntilDate")
        if locked_until is not None and locked_until >= at + lock:
            return False
        self._s3.put_object_retention(
            Bucket=self._bucket,
            Key=key,
            VersionId=version_id,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": at + lock},
        )
        return True


def _within(key: str, start: datetime | None, end: datetime | None) -> bool:
    """Whether a key's boundary lies in `start`..`end` (a key naming no boundary lies in every range)."""
    at = boundary_of(key)
    return at is None or ((start is None or at >= start) and (end is None or at <= end))
