"""The redaction function's work: find the tracks of a queued redaction's excerpt, store its tracks file and a
thumbnail strip per track (encrypted, under the request's exports), and record the tracks for review."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from chalicelib.domain.redaction import Redaction, RedactionStatus, TrackSummary, thumbnails_key, tracks_key
from chalicelib.media.masking import InvalidExport
from chalicelib.media.redaction.plan import TrackRecord
from chalicelib.media.redaction.tracks_file import TracksFile
from chalicelib.media.video import InvalidVideo
from chalicelib.observability import logger
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import AlteredFootage, ClipObjects
from chalicelib.store.subject_requests import SubjectRequestBook
from redaction.finder import Detectors, FinderSettings, FoundTrack, FoundTracks, find_tracks


class TrackFinder:
    def __init__(
        self,
        book: SubjectRequestBook,
        index: ClipIndex,
        objects: ClipObjects,
        detectors: Callable[[], Detectors],
        workdir: Path,
        settings: FinderSettings | None = None,
    ) -> None:
        self._book = book
        self._index = index
        self._objects = objects
        self._detectors = detectors  # loaded on first use, once per warm function
        self._workdir = workdir
        self._settings = settings or FinderSettings()

    def find(self, request_id: str, redaction_id: str, now: datetime) -> Redaction | None:
        """Find a pending redaction's tracks; footage that cannot be read fails it for good, with the reason."""
        redaction = self._book.get_redaction(request_id, redaction_id)
        if redaction is None or redaction.status != RedactionStatus.PENDING:
            return None  # a redelivered message for a redaction already done
        clip = self._index.get(redaction.clip_id)
        if clip is None or clip.object_version is None:
            return self._failed(redaction, "the clip's footage is gone")
        with tempfile.TemporaryDirectory(dir=self._workdir) as work:
            source = Path(work) / "source.mp4"
            try:
                with source.open("wb") as sink:
                    self._objects.download_footage(clip, clip.object_version, sink)
                found = find_tracks(source, redaction.start_s, redaction.end_s, self._detectors(), self._settings)
            except (AlteredFootage, InvalidExport, InvalidVideo) as refusal:
                logger.warning("redaction refused", extra={"redaction_id": redaction_id, "reason": refusal.reason})
                return self._failed(redaction, refusal.reason)
        self._store(redaction, found)
        return self._book.finish_redaction(
            redaction.model_copy(
                update={
                    "status": RedactionStatus.FOUND,
                    "found_at": now,
                    "frames": found.frames,
                    "width": found.width,
                    "height": found.height,
                    "tracks": tuple(_summary(found, t) for t in found.tracks),
                }
            )
        )

    def _store(self, redaction: Redaction, found: FoundTracks) -> None:
        site, request_id, redaction_id = redaction.site, redaction.request_id, redaction.redaction_id
        tracks = TracksFile(
            found.width,
            found.height,
            found.time_base,
            found.start_pts,
            tuple(found.pts),
            tuple(TrackRecord(t.track_id, t.kind, t.boxes, t.detections, t.score) for t in found.tracks),
        )
        for track in found.tracks:
            if track.thumbnails:
                self._objects.put_jpeg(thumbnails_key(site, request_id, redaction_id, track.track_id), track.thumbnails)
        self._objects.put_bytes(tracks_key(site, request_id, redaction_id), tracks.to_json(), "application/json")

    def _failed(self, redaction: Redaction, reason: str) -> Redaction:
        return self._book.finish_redaction(
            redaction.model_copy(update={"status": RedactionStatus.FAILED, "failure": reason})
        )


def _summary(found: FoundTracks, track: FoundTrack) -> TrackSummary:
    frames = sorted(track.boxes)
    return TrackSummary(
        track_id=track.track_id,
        kind=track.kind,
        first_s=round(found.seconds(frames[0]), 3),
        last_s=round(found.seconds(frames[-1]), 3),
        frames=len(frames),
        detections=track.detections,
        score=round(track.score, 3),
    )
