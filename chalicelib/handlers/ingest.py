"""Ingest: verify an uploaded clip's bytes and video, make thumbnails from it, index it or quarantine it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pyrage
from pyrage import x25519

from chalicelib.domain.clips import Clip, ClipStatus, VideoFacts, clip_id_from_key, is_sealed_key, thumbnail_prefix
from chalicelib.domain.ingest import sealed_problem, upload_problem, video_problem
from chalicelib.files import sha256_file
from chalicelib.media.video import InvalidVideo, MediaLimits, probe, thumbnails
from chalicelib.observability import logger
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import CLIP_CONTENT_TYPE, ClipObjects, StoredBytes, copy_hashing
from chalicelib.store.sealing_keys import SealingKeys


class Verdict(StrEnum):
    UNSEALED = "unsealed"
    INDEXED = "indexed"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    FOREIGN = "foreign"


class Unacceptable(Exception):
    """The uploaded object is not the registered clip: quarantine it, never retry it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    version_id: str | None  # S3 names the version; moto's notifications do not


def uploaded_objects(message_body: str) -> Iterator[UploadedObject]:
    """The objects an S3 notification (as SQS delivers it) announces; none for S3's test event."""
    notification: dict[str, Any] = json.loads(message_body)
    for record in notification.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        yield UploadedObject(
            bucket=s3["bucket"]["name"],
            # S3 quote_plus-encodes keys in notifications.
            key=unquote_plus(s3["object"]["key"]),
            version_id=s3["object"].get("versionId"),
        )


class ClipIngest:
    def __init__(
        self,
        index: ClipIndex,
        objects: ClipObjects,
        catalog: Catalog,
        limits: MediaLimits,
        duration_tolerance_s: float,
        workdir: Path,
        sealing_keys: SealingKeys,
    ) -> None:
        self._index = index
        self._objects = objects
        self._catalog = catalog
        self._sealing_keys = sealing_keys
        self._limits = limits
        self._tolerance = duration_tolerance_s
        self._workdir = workdir

    def ingest(self, uploaded: UploadedObject, now: datetime) -> Verdict:
        """Judge one uploaded object version, at most once whatever the number of notifications."""
        clip_id = clip_id_from_key(uploaded.key)
        registered = self._index.get(clip_id) if clip_id else None
        if registered is not None and is_sealed_key(uploaded.key):
            return self._unseal(registered, uploaded, now)
        if registered is None or registered.object_key != uploaded.key:
            logger.warning("object the archive did not register", extra={"key": uploaded.key})
            return Verdict.FOREIGN
        version_id = uploaded.version_id or self._objects.current_version(uploaded.key)
        clip = self._index.claim_upload(registered.clip_id, version_id)
        if clip is None:
            return Verdict.DUPLICATE
        # A temporary file, not memory: clips may be far larger than the function's RAM.
        with tempfile.NamedTemporaryFile(dir=self._workdir, suffix=".mp4") as local:
            stored = self._objects.download(clip.object_key, version_id, local)
            try:
                video, jpegs = self._examine(clip, stored, Path(local.name))
            except Unacceptable as refusal:
                logger.warning("clip quarantined", extra={"clip_id": clip.clip_id, "reason": refusal.reason})
                self._index.mark_quarantined(clip, refusal.reason, now)
                return Verdict.QUARANTINED
        prefix = thumbnail_prefix(clip.site, clip.camera_id, clip.clip_id)
        # The strip's first still is the poster (the first keyframe).
        keys = [f"{prefix}{'poster' if i == 0 else f'strip-{i}'}.jpg" for i in range(len(jpegs))]
        for key, jpeg in zip(keys, jpegs, strict=True):
            self._objects.put_jpeg(key, jpeg)
        if self._index.mark_indexed(clip, video, keys, now) is None:
            return Verdict.DUPLICATE
        self._catalog.record_clip_time(clip.camera_id, clip.end, clip.clip_id, keys[0] if keys else None)
        logger.info("clip indexed", extra={"clip_id": clip.clip_id, "camera_id": clip.camera_id})
        return Verdict.INDEXED

    def _unseal(self, clip: Clip, uploaded: UploadedObject, now: datetime) -> Verdict:
        """Open a sealed upload with the site's private key and store the plaintext as the clip.

        Its ObjectCreated event then brings the plaintext through the ordinary path (hash, probe, index),
        so a sealed clip and a plain one are judged by the same code.
        """
        if clip.status != ClipStatus.REGISTERED or clip.sealed is None:
            return Verdict.DUPLICATE
        opened = self._objects.open_version(uploaded.key, uploaded.version_id)
        if opened is None:
            return Verdict.DUPLICATE  # unsealed before: the sealed object is already gone
        body, sealed_version = opened
        with tempfile.TemporaryDirectory(dir=self._workdir) as work:
            sealed, plaintext = Path(work) / "clip.age", Path(work) / "clip.mp4"
            with sealed.open("wb") as sink:
                stored = copy_hashing(body, sink)
            problem = sealed_problem(clip, stored.size, stored.sha256)
            if problem:
                return self._quarantine_sealed(clip, f"sealed file: {problem}", now)
            identities = self._sealing_keys.identities(clip.site)  # rotated keys too: sealed before, opened now
            if not identities:
                raise RuntimeError(f"site {clip.site} has no sealing key: make one (safe-society-admin), then redrive")
            try:
                pyrage.decrypt_file(str(sealed), str(plaintext), [x25519.Identity.from_str(i) for i in identities])
            except pyrage.DecryptError:
                return self._quarantine_sealed(clip, "the sealed file does not open with the site's key", now)
            inside = StoredBytes(size=plaintext.stat().st_size, sha256=sha256_file(plaintext))
            problem = upload_problem(clip, inside.size, inside.sha256)
            if problem:
                return self._quarantine_sealed(clip, f"opened clip: {problem}", now)
            self._objects.put_file(clip.object_key, plaintext, CLIP_CONTENT_TYPE)
        # Exactly the version opened: listing versions per clip is what made moto's memory grow without end.
        self._objects.delete_version(uploaded.key, sealed_version)
        logger.info("sealed clip opened", extra={"clip_id": clip.clip_id})
        return Verdict.UNSEALED

    def _quarantine_sealed(self, clip: Clip, reason: str, now: datetime) -> Verdict:
        logger.warning("sealed clip quarantined", extra={"clip_id": clip.clip_id, "reason": reason})
        self._index.quarantine_registered(clip, reason, now)
        return Verdict.QUARANTINED

    def _examine(self, clip: Clip, stored: StoredBytes, path: Path) -> tuple[VideoFacts, list[bytes]]:
        """The video's facts and thumbnails, or Unacceptable with the reason to quarantine it for."""
        problem = upload_problem(clip, stored.size, stored.sha256)
        if problem:
            raise Unacceptable(problem)
        try:
            info = probe(path, self._limits)
            video = VideoFacts(
                codec=info.codec, width=info.width, height=info.height, fps=info.fps, duration_s=info.duration_s
            )
            problem = video_problem(clip, video, self._tolerance)
            if problem:
                raise Unacceptable(problem)
            made = thumbnails(path)
        except InvalidVideo as invalid:
            raise Unacceptable(invalid.reason) from invalid
        return video, list(made.strip) or [made.poster]
