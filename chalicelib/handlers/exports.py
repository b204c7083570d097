"""Make a subject access export: stills and an excerpt of one clip with the dpo's boxes masked, zipped with
a manifest (sha256 of every file, the source clip and its hash, who asked and when), stored encrypted."""

from __future__ import annotations

import json
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.domain.subject_requests import Export, ExportStatus, export_key
from chalicelib.domain.timeutil import iso
from chalicelib.files import sha256_file
from chalicelib.media.masking import Box, InvalidExport, masked_excerpt, masked_stills
from chalicelib.media.video import InvalidVideo
from chalicelib.observability import logger
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects
from chalicelib.store.subject_requests import SubjectRequestBook


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
        with tempfile.TemporaryDirectory(dir=self._workdir) as work:
            folder = Path(work)
            source = folder / "source.mp4"
            with source.open("wb") as sink:
                self._objects.download(clip.object_key, clip.object_version, sink)
            try:
                files = self._render(export, source, folder)
            except (InvalidExport, InvalidVideo) as refusal:
                logger.warning("export refused", extra={"export_id": export_id, "reason": refusal.reason})
                return self._book.finish_export(
                    export.model_copy(update={"status": ExportStatus.FAILED, "failure": refusal.reason})
                )
            manifest = {
                "request_id": request_id,
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
                        "expires_at": now + self._keep_for,
                        "object_key": key,
                        "sha256": sha256_file(package),
                        "manifest": manifest,
                    }
                )
            )

    @staticmethod
    def _render(export: Export, source: Path, folder: Path) -> list[Path]:
        boxes = [Box(box.x, box.y, box.width, box.height) for box in export.request.boxes]
        files = []
        if export.request.stills_at_s:
            for number, jpeg in enumerate(masked_stills(source, export.request.stills_at_s, boxes), start=1):
                still = folder / f"still-{number:02d}.jpg"
                still.write_bytes(jpeg)
                files.append(still)
        if export.request.excerpt is not None:
            excerpt = folder / "excerpt.mp4"
            masked_excerpt(source, export.request.excerpt.start_s, export.request.excerpt.end_s, boxes, excerpt)
            files.append(excerpt)
        return files


def _zip(package: Path, files: list[Path], manifest: dict[str, Any]) -> None:
    # Stored, not deflated: JPEG and H.264 do not compress further.
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))


def export_message(body: str) -> tuple[str, str]:
    message = json.loads(body)
    return str(message["request_id"]), str(message["export_id"])
