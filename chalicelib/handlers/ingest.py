"""Ingest: verify an uploaded clip's bytes and video, make thumbnails from it, index it or quarantine it;
and delete whatever arrives for a clip that no longer awaits it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.domain.audit import Outcome
from chalicelib.domain.clips import (
    GONE,
    Clip,
    ClipStatus,
    Stills,
    VideoFacts,
    clip_id_from_key,
    thumbnail_key,
    thumbnail_prefix,
)
from chalicelib.domain.ingest import (
    UploadFate,
    sealed_problem,
    size_problem,
    upload_fate,
    upload_problem,
    video_problem,
)
from chalicelib.domain.principal import INGEST
from chalicelib.files import CountingWriter, sha256_file
from chalicelib.media.stills import Thumbnails, thumbnails
from chalicelib.media.video import InvalidVideo, MediaLimits, probe
from chalicelib.observability import logger
from chalicelib.policy import Action
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import CLIP_CONTENT_TYPE, SINGLE_PUT_BYTES, ChecksumMismatch, ClipObjects, StoredBytes
from chalicelib.store.sealing_keys import SealingKeys


class Verdict(StrEnum):
    INDEXED = "indexed"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    FOREIGN = "foreign"
    DISCARDED = "discarded"


class Unacceptable(Exception):
    """The uploaded object is not the registered clip, or no acceptable video: quarantine it, never retry it."""

    def __init__(self, reason: str, *, bytes_verified: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.bytes_verified = bytes_verified  # the bytes were the registered ones (the video is what is wrong)


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    version_id: str | None  # S3 names the version; moto's notifications do not


@dataclass(frozen=True)
class Examined:
    """An upload found to be the registered clip: what the video is, its stills, the footage's version."""

    video: VideoFacts
    stills: Thumbnails
    object_version: str  # the upload's own, or for a sealed clip that of its plaintext, stored by ingest


class _Uploads:
    """At most one upload running beside the run's own work. Its thread is named after the run's: the cost
    command (local/cost_counting.py) tells its requests, which overlap the run's, from the run's own by that name."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._upload: Future[str] | None = None

    def __enter__(self) -> _Uploads:
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def start(self, upload: Callable[..., str], *arguments: Any) -> None:
        name = f"{threading.current_thread().name}.overlapped"
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._upload = self._pool.submit(upload, *arguments)

    @property
    def started(self) -> bool:
        return self._upload is not None

    def wait(self) -> None:
        """Until the upload has ended, whether it failed or not."""
        if self._upload is not None:
            wait([self._upload])

    def result(self) -> str:
        """The upload's answer (the stored version), once it has ended; its error if it failed."""
        if self._upload is None:
            raise RuntimeError("no upload was started")
        return self._upload.result()


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
        audit: AuditLog,
        limits: MediaLimits,
        duration_tolerance_s: float,
        workdir: Path,
        sealing_keys: SealingKeys,
    ) -> None:
        self._index = index
        self._objects = objects
        self._catalog = catalog
        self._audit = audit
        self._sealing_keys = sealing_keys
        self._limits = limits
        self._tolerance = duration_tolerance_s
        self._workdir = workdir

    def ingest(self, uploaded: UploadedObject, now: datetime) -> Verdict:
        """Judge one uploaded object version, at most once whatever the number of notifications."""
        clip_id = clip_id_from_key(uploaded.key)
        clip = self._index.get(clip_id) if clip_id else None
        if clip is None or uploaded.key not in (clip.object_key, clip.upload_key):
            logger.warning("object the archive did not register", extra={"key": uploaded.key})
            return Verdict.FOREIGN
        version_id = uploaded.version_id or self._objects.current_version(uploaded.key)
        if version_id is None:
            return Verdict.DUPLICATE  # deleted since it was announced
        fate, reason = upload_fate(clip, uploaded.key, version_id)
        if fate == UploadFate.TAKE:
            claimed = self._index.claim_upload(clip, version_id)
            if claimed is not None:
                return self._judge(claimed, version_id, resumed=clip.status == ClipStatus.UPLOADED, now=now)
            # Judged, erased or expired since it was read: decide again on what it is now.
            clip = self._index.get(clip.clip_id) or clip
            fate, reason = upload_fate(clip, uploaded.key, version_id)
        if fate == UploadFate.DISCARD and self._objects.delete_version_if_present(uploaded.key, version_id):
            return self._discarded(clip, reason, now)
        if fate == UploadFate.DISCARD_ALL:
            if clip.sealed:  # a run that crashed storing its plaintext in parts left them
                self._objects.abort_uploads_under(clip.object_key)
            if self._objects.delete_all_of(clip).removed:
                return self._discarded(clip, reason, now)
        return Verdict.DUPLICATE

    def _discarded(self, clip: Clip, reason: str, now: datetime) -> Verdict:
        logger.warning("upload discarded", extra={"clip_id": clip.clip_id, "reason": reason})
        self._audit.record(
            INGEST, Action.DISCARD_UPLOAD, clip.site, f"clip:{clip.clip_id}", Outcome.REFUSED, now, reason=reason
        )
        return Verdict.DISCARDED

    def _judge(self, clip: Clip, version_id: str, *, resumed: bool, now: datetime) -> Verdict:
        """Verify, examine and index (or quarantine) the claimed upload, sealed or not, in this one run."""
        if resumed:
            # A run that crashed may have stored thumbnails (and an opened clip) no record names: start clean.
            self._objects.delete_everything_under(thumbnail_prefix(clip.site, clip.camera_id, clip.clip_id))
            if clip.sealed:
                self._objects.abort_uploads_under(clip.object_key)
                self._objects.delete_everything_under(clip.object_key)
        # Temporary files, not memory: clips may be far larger than the function's RAM.
        with TemporaryDirectory(dir=self._workdir) as work, _Uploads() as uploads:
            try:
                examined = self._examine(clip, version_id, Path(work), uploads)
            except Unacceptable as refusal:
                if uploads.started:
                    # What is not accepted is not kept opened (its sealed upload stays, quarantined).
                    uploads.wait()
                    self._objects.delete_everything_under(clip.object_key)
                logger.warning("clip quarantined", extra={"clip_id": clip.clip_id, "reason": refusal.reason})
                if self._index.mark_quarantined(clip, refusal.reason, refusal.bytes_verified, now) is None:
                    return self._settle(clip, now)
                return Verdict.QUARANTINED
        stills = examined.stills
        key = thumbnail_key(clip.site, clip.camera_id, clip.clip_id)
        thumbnail = (key, self._objects.put_jpeg(key, stills.jpeg))
        layout = Stills(count=stills.stills, width=stills.still_width, height=stills.still_height)
        if self._index.mark_indexed(clip, examined.video, thumbnail, layout, examined.object_version, now) is None:
            return self._settle(clip, now)
        if clip.sealed:
            # Exactly the version opened: listing versions per clip is what made moto's memory grow without end.
            self._objects.delete_version(clip.upload_key, version_id)
        self._catalog.record_clip_time(clip.camera_id, clip.end, clip.clip_id, key, layout)
        logger.info("clip indexed", extra={"clip_id": clip.clip_id, "camera_id": clip.camera_id})
        return Verdict.INDEXED

    def _settle(self, clip: Clip, now: datetime) -> Verdict:
        """The verdict could not be written: if the clip was erased or expired meanwhile, nothing this run
        stored may stay."""
        current = self._index.get(clip.clip_id)
        if current is not None and current.status in GONE:
            self._objects.delete_all_of(current)
            return self._discarded(current, f"the clip was {current.status} while being ingested", now)
        return Verdict.DUPLICATE

    def _examine(self, clip: Clip, version_id: str, work: Path, uploads: _Uploads) -> Examined:
        """The plaintext of the upload, checked against the registration, with its video's facts and stills;
        or Unacceptable with the reason to quarantine it for. A sealed clip's plaintext is stored under its
        object key while its video is examined (Lambda bills the wall time: the upload's waiting overlaps the
        decoding)."""
        if not clip.sealed:
            download = work / "upload"
            with download.open("wb") as sink:
                stored = self._objects.download(clip.upload_key, version_id, sink)
            problem = upload_problem(clip, stored.size, stored.sha256)
            if problem:
                raise Unacceptable(problem, bytes_verified=False)
            video, stills = self._video(clip, download)
            return Examined(video=video, stills=stills, object_version=version_id)
        plaintext = work / "clip.mp4"
        self._open_sealed(clip, version_id, plaintext)
        uploads.start(self._objects.put_file, clip.object_key, plaintext, CLIP_CONTENT_TYPE, clip.sha256)
        try:
            video, stills = self._video(clip, plaintext)
        except Unacceptable:
            self._stored_plaintext(clip, plaintext, uploads)  # other bytes than registered: the first reason
            raise
        return Examined(video=video, stills=stills, object_version=self._stored_plaintext(clip, plaintext, uploads))

    def _video(self, clip: Clip, plaintext: Path) -> tuple[VideoFacts, Thumbnails]:
        """The clip's video facts and stills, once it is the video registered; Unacceptable if not."""
        try:
            info = probe(plaintext, self._limits)
            video = VideoFacts(
                codec=info.codec, width=info.width, height=info.height, fps=info.fps, duration_s=info.duration_s
            )
            problem = video_problem(clip, video, self._tolerance)
            if problem:
                raise Unacceptable(problem, bytes_verified=True)
            return video, thumbnails(plaintext)
        except InvalidVideo as invalid:
            raise Unacceptable(invalid.reason, bytes_verified=True) from invalid

    def _open_sealed(self, clip: Clip, version_id: str, plaintext: Path) -> None:
        """Open the sealed upload into `plaintext` with the site's private key, as it streams from S3 (one
        pass, no sealed copy on disk), checked against the registration: the sealed bytes' SHA-256 taken on
        the way; the plaintext's by S3 as it is stored, up to the size stored in one PUT, on the way above it."""
        opened: CountingWriter | None = None
        # With the cached key, and failing that once more with the secret read anew: it may have been rotated.
        for fresh in (False, True):
            identities = self._sealing_keys.identities(clip.site, fresh=fresh)  # rotated keys too
            if not identities:
                if fresh:
                    raise RuntimeError(
                        f"site {clip.site} has no sealing key: make one (safe-society-admin), then redrive"
                    )
                continue
            sealed, opened = self._decrypt(clip, version_id, plaintext, identities)
            problem = sealed_problem(clip, sealed.size, sealed.sha256)
            if problem:
                raise Unacceptable(f"sealed file: {problem}", bytes_verified=False)
            if opened is not None:
                break
        if opened is None:
            raise Unacceptable("the sealed file does not open with the site's key", bytes_verified=True)
        problem = upload_problem(clip, opened.size, opened.sha256) if opened.sha256 else size_problem(clip, opened.size)
        if problem:
            # The sealed bytes are those registered: the gateway's copy holds the same wrong clip.
            raise Unacceptable(f"opened clip: {problem}", bytes_verified=True)

    def _decrypt(
        self, clip: Clip, version_id: str, plaintext: Path, identities: list[str]
    ) -> tuple[StoredBytes, CountingWriter | None]:
        """The sealed upload's bytes as read, and what opening them wrote (None if they do not open)."""
        import pyrage  # sealed clips alone need it: not imported by the API's functions, which import this module
        from pyrage import x25519

        sealed = self._objects.stream(clip.upload_key, version_id)
        with plaintext.open("wb") as file:
            opened = CountingWriter(file, hashing=clip.size > SINGLE_PUT_BYTES)
            try:
                pyrage.decrypt_io(sealed, opened, [x25519.Identity.from_str(i) for i in identities])
            except pyrage.DecryptError:  # no key of the site opens its header
                return sealed.drain(), None
            except OSError as error:
                # A chunk that fails authentication part way comes as an OSError without an errno; a real one
                # (the disk full, a read cut short) has one and is no verdict on the clip: the run is retried.
                if error.errno is not None:
                    raise
                return sealed.drain(), None
        return sealed.drain(), opened

    def _stored_plaintext(self, clip: Clip, plaintext: Path, uploads: _Uploads) -> str:
        """The version of the sealed clip's plaintext as stored; Unacceptable if S3 found it other bytes than
        the SHA-256 registered (ingest hashes it only then, to say which)."""
        try:
            return uploads.result()
        except ChecksumMismatch as mismatch:
            problem = upload_problem(clip, plaintext.stat().st_size, sha256_file(plaintext)) or str(mismatch)
            raise Unacceptable(f"opened clip: {problem}", bytes_verified=True) from mismatch
