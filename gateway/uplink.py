"""The gateway's side of the archive API: register a clip, PUT its bytes, ask whether it arrived."""

from __future__ import annotations

import contextlib
import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


class UplinkError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as clip:
        while chunk := clip.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Uplink:
    api_url: str
    token: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - the configured API URL
            self.api_url.rstrip("/") + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raise UplinkError(error.code, error.read().decode(errors="replace")) from error

    def register(
        self, camera_id: str, start: datetime, end: datetime, clip: Path, clock_correction_s: float | None = None
    ) -> dict[str, Any]:
        """`clock_correction_s`: how far the recorder's clock ran ahead (the times were moved back by it)."""
        registration = {
            "camera_id": camera_id,
            "start": _utc(start),
            "end": _utc(end),
            "size": clip.stat().st_size,
            "sha256": sha256_of(clip),
        }
        if clock_correction_s is not None:
            registration["clock_correction_s"] = clock_correction_s
        _, body = self._call("POST", "/gateway/clips", registration)
        return dict(body)

    def clip_state(self, clip_id: str) -> dict[str, Any]:
        _, body = self._call("GET", f"/gateway/clips/{clip_id}")
        return dict(body)

    def heartbeat(self, report: dict[str, Any]) -> None:
        self._call("POST", "/gateway/heartbeat", report)


def put_clip(upload: dict[str, Any], clip: Path | bytes) -> int:
    """PUT the clip (a file, or bytes held: a part) to its presigned URL with exactly the signed headers; the
    HTTP status."""
    with clip.open("rb") if isinstance(clip, Path) else contextlib.nullcontext(clip) as body:
        request = urllib.request.Request(  # noqa: S310 - the presigned URL the API issued
            upload["url"], data=body, method=upload["method"], headers=upload["headers"]
        )
        with urllib.request.urlopen(request, timeout=300) as answer:  # noqa: S310
            return int(answer.status)
