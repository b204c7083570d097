"""The tracks file the redaction function writes and the API and the exports function read: each frame's time,
and every track's box in every frame of its life. JSON, pure Python (neither reader has numpy)."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from fractions import Fraction

from chalicelib.media.redaction.plan import TrackRecord
from chalicelib.media.redaction.tracking import Box

FORMAT = "safe-society-tracks/1"


@dataclass(frozen=True)
class TracksFile:
    width: int
    height: int
    time_base: Fraction
    start_pts: int  # the pts of the clip's first frame: times in seconds are counted from it
    pts: tuple[int, ...]  # each excerpt frame's pts, in order
    tracks: tuple[TrackRecord, ...]

    @property
    def frames(self) -> int:
        return len(self.pts)

    def seconds(self, frame: int) -> float:
        return float((self.pts[frame] - self.start_pts) * self.time_base)

    def frame_at(self, seconds: float) -> int:
        """The first frame shown at or after `seconds` from the clip's start (the last frame past the end), as
        stills and excerpts pick them (masking._ticks rounds to the stream's clock alike)."""
        target = self.start_pts + round(Fraction(seconds) / self.time_base)
        return min(bisect.bisect_left(self.pts, target), len(self.pts) - 1)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "width": self.width,
                "height": self.height,
                "time_base": [self.time_base.numerator, self.time_base.denominator],
                "start_pts": self.start_pts,
                "pts": list(self.pts),
                "tracks": [
                    {
                        "track_id": t.track_id,
                        "kind": t.kind,
                        "detections": t.detections,
                        "score": round(t.score, 3),
                        # [frame, x, y, width, height], a tenth of a pixel is precision enough
                        "boxes": [
                            [frame, *(round(v, 1) for v in (b.x, b.y, b.width, b.height))]
                            for frame, b in sorted(t.boxes.items())
                        ],
                    }
                    for t in self.tracks
                ],
            },
            separators=(",", ":"),
        ).encode()

    @staticmethod
    def from_json(data: bytes) -> TracksFile:
        document = json.loads(data)
        if document.get("format") != FORMAT:
            raise ValueError(f"not a tracks file of format {FORMAT}")
        numerator, denominator = document["time_base"]
        return TracksFile(
            width=int(document["width"]),
            height=int(document["height"]),
            time_base=Fraction(numerator, denominator),
            start_pts=int(document["start_pts"]),
            pts=tuple(int(p) for p in document["pts"]),
            tracks=tuple(
                TrackRecord(
                    str(t["track_id"]),
                    str(t["kind"]),
                    {int(f): Box(float(x), float(y), float(w), float(h)) for f, x, y, w, h in t["boxes"]},
                    int(t["detections"]),
                    float(t["score"]),
                )
                for t in document["tracks"]
            ),
        )
