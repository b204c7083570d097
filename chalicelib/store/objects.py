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
from pydantic import ConfigDict

from chalicelib.domain.clips import Clip, StoredVersion, thumbnail_prefix
from chalicelib.domain.timeutil import iso
from chalicelib.model import Model

_CHUNK = 1 << 20
_DELETE_BATCH = 1000  # DeleteObjects' most
# Files up to this size are stored in one PUT (the size above which gateways upload in parts).
SINGLE_PUT_BYTES = 100_000_000
CLIP_CONTENT_TYPE = "video/mp4"
SEALED_CONTENT_TYPE = "application/octet-stream"  # an age file: opaque until ingest opens it


class UploadTicket(Model):
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


class ChecksumMismatch(Exception):
    """S3 refused a PUT (400 BadDigest): the body is not the bytes of the SHA-256 it was sent with."""


class AlteredFootage(Exception):
    """A clip's stored footage is not the bytes registered (altered, or damaged at rest): never to hand over."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        """Whether S3 vouches that the key's current object is exactly these bytes: a presigned PUT signs the
        whole object's SHA-256 in, S3 verifies it on receipt and reports it here.

        An object without that checksum (a multipart upload's carries only its parts'; an S3 that stores none,
        moto among them) is never taken on its size: only ingest's own hash then says it arrived.
        """
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return head.get("ContentLength") == size and head.get("ChecksumSHA256") == _checksum(sha256_hex)

    def start_multipart(self, key: str, content_type: str) -> str:
        """A multipart upload for a large clip (encrypted like any other, each part's SHA-256 checked by S3);
        its upload id."""
        created = self._s3.create_multipart_upload(
            Bucket=self._bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256", **self._encryption()
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
        self, key: str, upload_id: str, number: int, size: int, sha256_hex: str, ttl: timedelta, now: datetime
    ) -> UploadTicket:
        """A presigned UploadPart with its length and the part's SHA-256 signed in: S3 refuses other bytes."""
        checksum = _checksum(sha256_hex)
        url = self._s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": number,
                "ContentLength": size,
                "ChecksumSHA256": checksum,
            },
            ExpiresIn=int(ttl.total_seconds()),
        )
        # An explicit Content-Type: HTTP clients otherwise label a bare body as a form, which some servers parse.
        headers = {"Content-Length": str(size), "Content-Type": SEALED_CONTENT_TYPE, "x-amz-checksum-sha256": checksum}
        return UploadTicket(url=url, method="PUT", headers=headers, expires_at=iso(now + ttl))

    def complete_multipart(self, key: str, upload_id: str, parts: list[StoredPart], part_sha256: list[str]) -> None:
        """Assemble the parts, each with the SHA-256 it was signed with (S3 checks them against what it holds)."""
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": p.number, "ETag": p.etag, "ChecksumSHA256": _checksum(sha)}
                    for p, sha in zip(parts, part_sha256, strict=True)
                ]
            },
        )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an incomplete multipart upload and every part stored for it (gone already: nothing to do)."""
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

    def abort_uploads_under(self, prefix: str) -> int:
        """Abort every multipart upload under way under `prefix` (what a run that crashed while storing in
        parts left: parts no object names, yet bytes); how many."""
        aborted = 0
        for page in self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                self.abort_multipart(upload["Key"], upload["UploadId"])
                aborted += 1
        return aborted

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
        body = self.stream(key, version_id)
        while chunk := body.read(_CHUNK):
            sink.write(chunk)
        sink.flush()
        return body.stored

    def download_footage(self, clip: Clip, version_id: str, sink: IO[bytes]) -> None:
        """Stream the clip's footage (the version indexed) into `sink`, checked on the way against the SHA-256
        the gateway registered: AlteredFootage if it is other bytes."""
        stored = self.download(clip.object_key, version_id, sink)
        if stored.sha256 != clip.sha256:
            raise AlteredFootage(
                f"the stored footage is not the clip registered: sha256 {stored.sha256}, registered {clip.sha256}"
            )

    def stream(self, key: str, version_id: str) -> HashingBody:
        """One object version to read as it arrives, hashed on the way."""
        return HashingBody(self._s3.get_object(Bucket=self._bucket, Key=key, VersionId=version_id)["Body"])

    def current_version(self, key: str) -> str | None:
        """The version id of the key's current object ("null" in a bucket without versioning); None if none."""
        try:
            head = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return str(head.get("VersionId") or "null")

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

    def delete_version_if_present(self, key: str, version_id: str) -> bool:
        """Delete one version; False if it was not there (deleted before: a notification delivered again)."""
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        except ClientError as error:
            if _missing(error):
                return False
            raise
        self.delete_version(key, version_id)
        return True

    def delete_versions(self, versions: list[StoredVersion]) -> frozenset[str]:
        """Delete exactly these versions, a thousand a request (DeleteObjects: no listing, one request for many
        clips); the keys whose version S3 kept, under an Object Lock legal hold. A version gone already counts
        as deleted."""
        kept: set[str] = set()
        for start in range(0, len(versions), _DELETE_BATCH):
            batch = versions[start : start + _DELETE_BATCH]
            kept.update(self._delete_batch([{"Key": v.key, "VersionId": v.version_id} for v in batch]))
        return frozenset(kept)

    def put_file(self, key: str, path: Path, content_type: str, sha256_hex: str | None = None) -> str:
        """Store a local file, encrypted under the archive's key; its version id.

        One PUT up to the size gateways upload whole, with the SHA-256 if given: S3 checks it (ChecksumMismatch
        if the file is other bytes) and keeps it. Larger files go in parts, streamed, each part's checksum S3's own.
        """
        if path.stat().st_size <= SINGLE_PUT_BYTES:
            checksum = {"ChecksumSHA256": _checksum(sha256_hex)} if sha256_hex else {}
            try:
                with path.open("rb") as body:
                    stored = self._s3.put_object(
                        Bucket=self._bucket,
                        Key=key,
                        Body=body,
                        ContentType=content_type,
                        **checksum,
                        **self._encryption(),
                    )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "BadDigest":
                    raise ChecksumMismatch(f"{key}: {error.response['Error'].get('Message', 'BadDigest')}") from error
                raise
            return str(stored.get("VersionId") or "null")
        self._s3.upload_file(str(path), self._bucket, key, ExtraArgs={"ContentType": content_type} | self._encryption())
        return self.current_version(key) or "null"

    def put_jpeg(self, key: str, jpeg: bytes) -> str:
        """Store a thumbnail; its version id."""
        return self.put_bytes(key, jpeg, "image/jpeg")

    def put_bytes(self, key: str, data: bytes, content_type: str) -> str:
        """Store a small object (a thumbnail, a tracks file), encrypted under the archive's key; its version id."""
        stored = self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=data, ContentType=content_type, **self._encryption()
        )
        return str(stored.get("VersionId") or "null")

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
            kept = len(self._delete_batch(doomed))
            refused += kept
            removed += len(doomed) - kept
        return Deletion(removed=removed, refused=refused)

    def _delete_batch(self, doomed: list[dict[str, str]]) -> list[str]:
        """One DeleteObjects of up to a thousand versions; the keys of those an Object Lock legal hold kept."""
        result = self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": doomed, "Quiet": True})
        errors = result.get("Errors", [])
        if any(error.get("Code") != "AccessDenied" for error in errors):
            first = next(error for error in errors if error.get("Code") != "AccessDenied")
            raise RuntimeError(f"S3 refused to delete {first['Key']}: {first.get('Message', first['Code'])}")
        return [error["Key"] for error in errors]

    def delete_all_of(self, clip: Clip) -> Deletion:
        """Every version of everything the clip may have in the bucket (its footage, a sealed upload, its
        thumbnails), found by listing, and its multipart upload if one is under way: for erasure, and for a
        clip whose stored versions are not known exactly (not yet judged)."""
        if clip.multipart_upload_id:
            self.abort_multipart(clip.upload_key, clip.multipart_upload_id)
        prefixes = {clip.object_key, clip.upload_key, thumbnail_prefix(clip.site, clip.camera_id, clip.clip_id)}
        deletions = [self.delete_everything_under(prefix) for prefix in sorted(prefixes)]
        return Deletion(
            removed=sum(deletion.removed for deletion in deletions),
            refused=sum(deletion.refused for deletion in deletions),
        )

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


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion")


def _checksum(sha256_hex: str) -> str:
    """S3's form of a SHA-256 (x-amz-checksum-sha256): base64 of the digest."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


class HashingBody:
    """An S3 object's body, read as a file is, hashing what it reads: `stored` is what it read until then."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self._digest = hashlib.sha256()
        self._size = 0

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self._body.read(size if size >= 0 else None)
        self._digest.update(chunk)
        self._size += len(chunk)
        return chunk

    def drain(self) -> StoredBytes:
        """Read what is left (what a reader that stopped early did not take); everything the body held."""
        while self.read(_CHUNK):
            pass
        return self.stored

    @property
    def stored(self) -> StoredBytes:
        return StoredBytes(size=self._size, sha256=self._digest.hexdigest())
