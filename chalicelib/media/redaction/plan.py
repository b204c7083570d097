"""From the tracks found and the reviewer's decisions to the boxes masked in each frame. Pure Python (the API
and the exports function use it; neither has numpy).

Rules: every track is masked unless the reviewer keeps it; the requester's tracks are kept, with the tracks
that spend most of their life inside them (the requester's own face inside their body); a kept track never
protects pixels from another track's mask; every mask grows by a margin for its size and its speed; a
manual box is masked over its span whatever else is decided.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.media.redaction.tracking import Box

# A mask grows on every side by this share of the box's size, plus the distance it moves in this many
# frames (a box from interpolation lags a fast object by up to half a detection stride), plus a pixel floor.
MARGIN_SHARE = 0.15
MARGIN_MOTION_FRAMES = 3
MARGIN_FLOOR = 2.0
# A track is the requester's own if at least this share of its frames lie inside the requester's boxes.
OWN_SHARE = 0.7
OWN_INSIDE = 0.8


@dataclass(frozen=True)
class TrackRecord:
    """A track as stored: its boxes frame by frame (frame index within the excerpt)."""

    track_id: str
    kind: str
    boxes: dict[int, Box]
    detections: int = 0
    score: float = 0.0

    @property
    def first(self) -> int:
        return min(self.boxes)

    @property
    def last(self) -> int:
        return max(self.boxes)

    def speed(self) -> float:
        """The fastest its centre moves between consecutive frames, pixels a frame."""
        frames = sorted(self.boxes)
        fastest = 0.0
        for a, b in zip(frames, frames[1:], strict=False):
            (ax, ay), (bx, by) = self.boxes[a].centre, self.boxes[b].centre
            fastest = max(fastest, math.hypot(bx - ax, by - ay) / (b - a))
        return fastest


@dataclass(frozen=True)
class ManualBox:
    """A box the reviewer drew, masked on frames first..last (inclusive), or a manual track's keyframe span."""

    first: int
    last: int
    box: Box


@dataclass(frozen=True)
class IntBox:
    """A mask in whole pixels, rounded outwards."""

    x: int
    y: int
    width: int
    height: int


def _outward(box: Box) -> IntBox:
    left, top = math.floor(box.x), math.floor(box.y)
    return IntBox(left, top, math.ceil(box.x + box.width) - left, math.ceil(box.y + box.height) - top)


def tracks_at(tracks: Iterable[TrackRecord], frame: int, x: float, y: float) -> list[str]:
    """The tracks whose box in `frame` holds the point (a reviewer's click), smallest box first."""
    hits = [(t.boxes[frame].width * t.boxes[frame].height, t.track_id) for t in tracks if frame in t.boxes]
    return [track_id for _, track_id in sorted(hits) if _box(tracks, track_id, frame).contains(x, y)]


def _box(tracks: Iterable[TrackRecord], track_id: str, frame: int) -> Box:
    return next(t for t in tracks if t.track_id == track_id).boxes[frame]


def requester_tracks(tracks: Sequence[TrackRecord], marked: Iterable[str]) -> set[str]:
    """The marked tracks and those that spend most of their life inside them (the requester's face)."""
    own = set(marked)
    marked_records = [t for t in tracks if t.track_id in own]
    for track in tracks:
        if track.track_id in own:
            continue
        inside = sum(
            1
            for frame, box in track.boxes.items()
            if any(frame in m.boxes and box.overlap(m.boxes[frame]) >= OWN_INSIDE for m in marked_records)
        )
        if inside >= OWN_SHARE * len(track.boxes):
            own.add(track.track_id)
    return own


@dataclass
class MaskPlan:
    """The masks of each frame: `boxes(frame)`."""

    tracks: Sequence[TrackRecord]
    masked: set[str]
    manual: Sequence[ManualBox] = ()

    def __post_init__(self) -> None:
        self._speeds = {t.track_id: t.speed() for t in self.tracks}

    def boxes(self, frame: int) -> list[IntBox]:
        out = []
        for track in self.tracks:
            if track.track_id in self.masked and (box := track.boxes.get(frame)) is not None:
                grow = MARGIN_FLOOR + MARGIN_SHARE * box.size + MARGIN_MOTION_FRAMES * self._speeds[track.track_id]
                out.append(_outward(box.grown(grow)))
        out.extend(_outward(m.box.grown(MARGIN_FLOOR)) for m in self.manual if m.first <= frame <= m.last)
        return out


def plan_for(
    tracks: Sequence[TrackRecord],
    kept: Iterable[str] = (),
    requester: Iterable[str] = (),
    manual: Sequence[ManualBox] = (),
    *,
    everyone: bool = False,
) -> MaskPlan:
    """Mask every track but those kept and the requester's; `everyone` (a public release) masks all."""
    if everyone:
        return MaskPlan(tracks, {t.track_id for t in tracks}, manual)
    spared = set(kept) | requester_tracks(tracks, requester)
    return MaskPlan(tracks, {t.track_id for t in tracks} - spared, manual)
