"""Make a masked export, for a subject request or a redacted share: stills and an excerpt of one clip masked as
the dpo's review of its redaction decided (every track masked frame by frame unless kept or the requester's, plus
the dpo's boxes), zipped with a manifest (sha256 of every file, the source clip and its hash, who asked and when)
and the redaction report, stored encrypted."""

from __future__ import annotations

import json
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.domain.redaction import Audience, Owner, Redaction, tracks_key
from chalicelib.domain.subject_requests import Export, ExportStatus, export_key
from chalicelib.domain.timeutil import iso
from chalicelib.files import sha256_file
from chalicelib.media.masking import Box, InvalidExport, check_boxes, redacted_excerpt, redacted_stills
from chalicelib.media.redaction.plan import ManualBox, MaskPlan, plan_for
from chalicelib.media.redaction.tracking import Box as TrackBox
from chalicelib.media.redaction.tracks_file import TracksFile
from chalicelib.media.video import InvalidVideo
from chalicelib.observability import logger
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import AlteredFootage, ClipObjects
from chalicelib.store.subject_requests import SubjectRequestBook

# How the manifest names what the export was made for.
OWNER_FIELD = {Owner.SUBJECT_REQUEST: "request_id", Owner.SHARE: "share_id"}


class ExportMaker:
    def __init__(
        self,
        book: SubjectRequestBook,
        index: ClipIndex,
        objects: ClipObjects,
        keep_for: timedelta,
        workdir: Path,
    ) -> None:
        self._book = book
        self._index = index
        self._objects = objects
        self._keep_for = keep_for
        self._workdir = workdir

    def make(self, request_id: str, export_id: str, now: datetime) -> Export | None:
        """Make a pending export; a refusal (bad boxes, times past the clip) fails it for good, with the reason."""
        export = self._book.get_export(request_id, export_id)
        if export is None or export.status != ExportStatus.PENDING:
            return None  # a redelivered message for an export already finished
        clip = self._index.get(export.clip_id)
        if clip is None or clip.object_version is None:
            return self._book.finish_export(
                export.model_copy(update={"status": ExportStatus.FAILED, "failure": "the clip's footage is gone"})
            )
        redaction = self._redaction(export)
        if isinstance(redaction, str):
            return self._book.finish_export(
                export.model_copy(update={"status": ExportStatus.FAILED, "failure": redaction})
            )
        with tempfile.TemporaryDirectory(dir=self._workdir) as work:
            folder = Path(work)
            source = folder / "source.mp4"
            try:
                with source.open("wb") as sink:
                    self._objects.download_footage(clip, clip.object_version, sink)
                files = _render(export, redaction, source, folder)
            except (AlteredFootage, InvalidExport, InvalidVideo) as refusal:
                logger.warning("export refused", extra={"export_id": export_id, "reason": refusal.reason})
                return self._book.finish_export(
                    export.model_copy(update={"status": ExportStatus.FAILED, "failure": refusal.reason})
                )
            report = folder / "redaction-report.json"
            report.write_text(json.dumps(_report(redaction[0]), indent=2, ensure_ascii=False))
            files.append(report)
            manifest = {
                OWNER_FIELD[export.owner]: request_id,
                "export_id": export_id,
                "site": export.site,
                "made_for": export.requested_by,
                "requested_at": iso(export.requested_at),
                "made_at": iso(now),
                "source": {
                    "clip_id": clip.clip_id,
                    "camera_id": clip.camera_id,
                    "start": iso(clip.start),
                    "end": iso(clip.end),
                    "sha256": clip.sha256,
                },
                "redaction_id": export.request.redaction_id,
                # subject: the requester visible; police: masked as reviewed; public: everyone masked.
                "redacted_for": redaction[0].review.audience.value if redaction[0].review else None,
                "masked_boxes": [box.model_dump() for box in export.request.boxes],
                "files": [
                    {"name": path.name, "size": path.stat().st_size, "sha256": sha256_file(path)} for path in files
                ],
            }
            package = folder / "export.zip"
            _zip(package, files, manifest)
            key = export_key(export.site, request_id, export_id)
            self._objects.put_file(key, package, "application/zip")
            return self._book.finish_export(
                export.model_copy(
                    update={
                        "status": ExportStatus.READY,
                        "ready_at": now,
                        # A share's export goes when the share does; the recipient can no longer ask for it then.
                        "expires_at": export.expires_at or now + self._keep_for,
                        "object_key": key,
                        "sha256": sha256_file(package),
                        "manifest": manifest,
                    }
                )
            )

    def _redaction(self, export: Export) -> tuple[Redaction, TracksFile] | str:
        """The export's reviewed redaction and its tracks, or why there is none (the API refuses such exports;
        this holds if one slipped past, as a message queued before its redaction was reviewed again would)."""
        redaction_id = export.request.redaction_id
        redaction = self._book.get_redaction(export.request_id, redaction_id) if redaction_id else None
        if redaction is None or redaction.review is None or redaction.clip_id != export.clip_id:
            return "the export has no reviewed redaction of its clip"
        data = self._objects.read_bytes(tracks_key(redaction.site, redaction.request_id, redaction.redaction_id))
        if data is None:
            return f"redaction {redaction.redaction_id}'s tracks are gone"
        return redaction, TracksFile.from_json(data)


def _plan(redaction: Redaction, tracks: TracksFile, boxes: list[Box]) -> MaskPlan:
    """The reviewed decisions as masks per frame of the redaction; the export's own boxes on every frame."""
    review = redaction.review
    assert review is not None
    manual = [
        ManualBox(
            tracks.frame_at(box.first_s),
            tracks.frame_at(box.last_s),
            TrackBox(box.x, box.y, box.width, box.height),
        )
        for box in review.manual
    ] + [ManualBox(0, tracks.frames - 1, TrackBox(b.x, b.y, b.width, b.height)) for b in boxes]
    # The tracks the review left unmasked are the ones it named: tracks found later are masked.
    return plan_for(
        tracks.tracks,
        kept=review.kept,
        requester=review.requester_tracks,
        manual=manual,
        everyone=review.audience == Audience.PUBLIC,
    )


def _render(export: Export, redaction: tuple[Redaction, TracksFile], source: Path, folder: Path) -> list[Path]:
    record, tracks = redaction
    boxes = [Box(box.x, box.y, box.width, box.height) for box in export.request.boxes]
    check_boxes(boxes, tracks.width, tracks.height)
    plan = _plan(record, tracks, boxes)

    def masks(frame: int) -> list[Box]:
        return [Box(b.x, b.y, b.width, b.height) for b in plan.boxes(frame)]

    files = []
    if export.request.stills_at_s:
        frames = [tracks.frame_at(at_s) for at_s in export.request.stills_at_s]
        for number, jpeg in enumerate(
            redacted_stills(source, export.request.stills_at_s, lambda n: masks(frames[n])), start=1
        ):
            still = folder / f"still-{number:02d}.jpg"
            still.write_bytes(jpeg)
            files.append(still)
    if export.request.excerpt is not None:
        excerpt = folder / "excerpt.mp4"
        # The excerpt's n-th frame is the redaction's (offset + n)-th: both count frames from their start time.
        offset = tracks.frame_at(export.request.excerpt.start_s)
        redacted_excerpt(
            source,
            export.request.excerpt.start_s,
            export.request.excerpt.end_s,
            lambda n: masks(offset + n),
            excerpt,
        )
        files.append(excerpt)
    return files


def _report(redaction: Redaction) -> dict[str, Any]:
    """What was found, what was masked and kept, and who decided: the redaction report in the zip."""
    review = redaction.review
    assert review is not None
    decision = dict.fromkeys(review.masked, "masked") | dict.fromkeys(review.kept, "kept")
    decision |= dict.fromkeys(review.requester_tracks, "requester")
    return {
        "redaction_id": redaction.redaction_id,
        "clip_id": redaction.clip_id,
        "span_s": [redaction.start_s, redaction.end_s],
        "found_at": iso(redaction.found_at) if redaction.found_at else None,
        "audience": review.audience.value,
        "reviewed_by": review.reviewed_by,
        "reviewed_at": iso(review.reviewed_at),
        "tracks": [
            track.model_dump(mode="json") | {"decision": decision.get(track.track_id, "masked")}
            for track in redaction.tracks
        ],
        "manual_boxes": [box.model_dump(mode="json") for box in review.manual],
        "counts": {
            "found": len(redaction.tracks),
            "masked": len(review.masked) if review.audience != Audience.PUBLIC else len(redaction.tracks),
            "kept": len(review.kept) if review.audience != Audience.PUBLIC else 0,
            "requester": len(review.requester_tracks),
        },
    }


def _zip(package: Path, files: list[Path], manifest: dict[str, Any]) -> None:
    # Stored, not deflated: JPEG and H.264 do not compress further.
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))


def export_message(body: str) -> tuple[str, str]:
    message = json.loads(body)
    return str(message["request_id"]), str(message["export_id"])
