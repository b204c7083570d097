"""Clip and thumbnail objects in S3: signed URLs, streamed reads, deletion of every version."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from chalicelib.domain.timeutil import iso

_CHUNK = 1 << 20
CLIP_CONTENT_TYPE = "video/mp4"
SEALED_CONTENT_TYPE = "application/octet-stream"  # an age file: opaque until ingest opens it


class UploadTicket(BaseModel):
    """How to PUT a clip: the URL and the headers signed into it (send them all, exactly)."""

    model_config = ConfigDict(frozen=True)

    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: str


@dataclass(frozen=True)
class StoredPart:
    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class Deletion:
    removed: int
    refused: int  # versions under an Object Lock legal hold


@dataclass(frozen=True)
class StoredBytes:
    size: int
    sha256: str


class ClipObjects:
    def __init__(self, s3_client: Any, bucket: str, kms_key_arn: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._kms_key_arn = kms_key_arn

    def _encryption(self) -> dict[str, str]:
        # Sent explicitly: the bucket policy refuses any PutObject without SSE-KMS under this key.
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_arn}

    def upload_ticket(
        self, key: str, sha256_hex: str, size: int, content_type: str, ttl: timedelta, now: datetime
    ) -> UploadTicket:
        """A presigned PUT with encryption, length and checksum signed in: real S3 refuses anything else."""
        checksum = _checksum(sha256_hex)
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ChecksumSHA256": checksum,
                "ContentLength": size,
                # Signed too, so the stored clip plays in a browser from its signed URL.
                "ContentType": content_type,
            }
            | self._encryption(),
            ExpiresIn=int(ttl.total_seconds()),
        )
        headers = {
            "Content-Length": str(size),
            "Content-Type": content_type,
            "x-amz-checksum-sha256": checksum,
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": self._kms_key_arn,
        }
        return UploadTicket(url=url, method="PUT", headers=headers, expires_at=iso(now + ttl))

    def holds(self, key: str, size: int, sha256_hex: str) -> bool:
        """Whether the key's current object has `size` bytes and, if S3 reports its SHA-256, this one.

        A presigned PUT signs the checksum in, so S3 verified it on receipt and reports it here; an object
        stored without one (a multipart upload's, whose parts carry none) is judged by its size.
        """
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        reported = head.get("ChecksumSHA256")
        return head.get("ContentLength") == size and reported in (None, _checksum(sha256_hex))

    def start_multipart(self, key: str, content_type: str) -> str:
        """A multipart upload for a large clip (encrypted like any other); its upload id."""
        created = self._s3.create_multipart_upload(
            Bucket=self._bucket, Key=key, ContentType=content_type, **self._encryption()
        )
        return str(created["UploadId"])

    def stored_parts(self, key: str, upload_id: str) -> list[StoredPart] | None:
        """The parts S3 already holds (what a resumed upload need not send again); None if the upload is gone."""
        parts: list[StoredPart] = []
        try:
            for page in self._s3.get_paginator("list_parts").paginate(Bucket=self._bucket, Key=key, UploadId=upload_id):
                parts += [StoredPart(p["PartNumber"], p["ETag"], p["Size"]) for p in page.get("Parts", [])]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return None
            raise
        return parts

    def part_ticket(
        self, key: str, upload_id: str, number: int, size: int, ttl: timedelta, now: datetime
    ) -> UploadTicket:
        url = self._s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": number,
                "ContentLength": size,
            },
            ExpiresIn=int(ttl.total_seconds()),
        )
        # An explicit Content-Type: HTTP clients otherwise label a bare body as a form, which some servers parse.
        headers = {"Content-Length": str(size), "Content-Type": SEALED_CONTENT_TYPE}
        return UploadTicket(url=url, method="PUT", headers=headers, expires_at=iso(now + ttl))

    def complete_multipart(self, key: str, upload_id: str, parts: list[StoredPart]) -> None:
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
        )

    def view_url(self, key: str, version_id: str | None, ttl: timedelta, *, save_as: str | None = None) -> str:
        """A signed GET; with `save_as`, browsers save the bytes under that name instead of showing them."""
        params = {"Bucket": self._bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        if save_as:
            params["ResponseContentDisposition"] = f'attachment; filename="{save_as}"'

        return str(self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=int(ttl.total_seconds())))

    def download(self, key: str, version_id: str, sink: IO[bytes]) -> StoredBytes:
        """Stream one object version into `sink`, hashing on the way: memory stays flat whatever the size."""
        return copy_hashing(self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=version_id)["Body"], sink)

    def current_version(self, key: str) -> str:
        """The version id of the key's current object ("null" in a bucket without versioning)."""
        return str(self._s3.head_object(Bucket=self._bucket, Key=key).get("VersionId") or "null")

    def open_version(self, key: str, version_id: str | None) -> tuple[Any, str] | None:
        """A streaming body of one object version (the current one when `version_id` is None) and its version
        id; None if it is gone."""
        arguments = {"Bucket": self._bucket, "Key": key} | ({"VersionId": version_id} if version_id else {})
        try:
            found = self._s3.get_object(**arguments)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion"):
                return None
            raise
        return found["Body"], str(found.get("VersionId") or "null")

    def delete_version(self, key: str, version_id: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key, VersionId=version_id)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Upload a local file (streamed, multipart when large), encrypted under the archive's key."""
        self._s3.upload_file(str(path), self._bucket, key, ExtraArgs={"ContentType": content_type} | self._encryption())

    def put_jpeg(self, key: str, jpeg: bytes) -> None:
        self.put_bytes(key, jpeg, "image/jpeg")

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type, **self._encryption())

    def read_bytes(self, key: str) -> bytes | None:
        """A small object's current bytes (a tracks file); None if it is gone."""
        opened = self.open_version(key, None)
        return opened[0].read() if opened else None

    def _versions(self, prefix: str) -> Iterator[list[dict[str, str]]]:
        """Pages of every version and delete marker under `prefix`."""
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
            if entries:
                yield [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries]

    def delete_everything_under(self, prefix: str) -> Deletion:
        """Delete every version and delete marker under `prefix`; versions under a legal hold stay (refused)."""
        removed = refused = 0
        for doomed in self._versions(prefix):
            result = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": doomed, "Quiet": True})
            errors = result.get("Errors", [])
            if any(error.get("Code") != "AccessDenied" for error in errors):
                first = next(error for error in errors if error.get("Code") != "AccessDenied")
                raise RuntimeError(f"S3 refused to delete {first['Key']}: {first.get('Message', first['Code'])}")
            refused += len(errors)
            removed += len(doomed) - len(errors)
        return Deletion(removed=removed, refused=refused)

    def set_legal_hold(self, prefix: str, on: bool) -> int:
        """Object Lock legal hold on (or off) every version under `prefix`: S3 itself then refuses deletion."""
        status = {"Status": "ON" if on else "OFF"}
        changed = 0
        for versions in self._versions(prefix):
            for version in versions:
                if version["VersionId"] in ("", "null"):
                    continue
                try:
                    self._s3.put_object_legal_hold(
                        Bucket=self._bucket, Key=version["Key"], VersionId=version["VersionId"], LegalHold=status
                    )
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "MethodNotAllowed":  # a delete marker
                        raise
                    continue
                changed += 1
        return changed


def _checksum(sha256_hex: str) -> str:
    """S3's form of a SHA-256 (x-amz-checksum-sha256): base64 of the digest."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


def copy_hashing(body: Any, sink: IO[bytes]) -> StoredBytes:
    """Copy an S3 body into `sink` chunk by chunk, hashing on the way."""
    digest = hashlib.sha256()
    size = 0
    for chunk in body.iter_chunks(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        sink.write(chunk)
    sink.flush()
    return StoredBytes(size=size, sha256=digest.hexdigest())
