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

from chalicelib.domain.clips import Clip, VideoFacts, clip_id_from_key, thumbnail_prefix
from chalicelib.domain.ingest import upload_problem, video_problem
from chalicelib.media.video import InvalidVideo, MediaLimits, probe, thumbnails
from chalicelib.observability import logger
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects, StoredBytes


class Verdict(StrEnum):
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
    ) -> None:
        self._index = index
        self._objects = objects
        self._catalog = catalog
        self._limits = limits
        self._tolerance = duration_tolerance_s
        self._workdir = workdir

    def ingest(self, uploaded: UploadedObject, now: datetime) -> Verdict:
        """Judge one uploaded object version, at most once whatever the number of notifications."""
        clip_id = clip_id_from_key(uploaded.key)
        registered = self._index.get(clip_id) if clip_id else None
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
        self._catalog.record_clip_time(clip.camera_id, clip.end)
        logger.info("clip indexed", extra={"clip_id": clip.clip_id, "camera_id": clip.camera_id})
        return Verdict.INDEXED

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
