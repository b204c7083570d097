"""Audit chain digests in an Object Lock bucket: once written, nobody (root included) can rewrite them."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.audit_chain import Digest


class AuditDigests:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def write(self, digest: Digest) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=f"digests/{digest.chain}/{digest.at}-{digest.seq:012d}.json",
            Body=json.dumps(digest.__dict__).encode(),
            ContentType="application/json",
        )

    def digests(self, chain: str) -> list[Digest]:
        found = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=f"digests/{chain}/"):
            for entry in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=entry["Key"])["Body"].read()
                found.append(Digest(**json.loads(body)))
        return found
