"""Detections become tracks: linked frame to frame by where each track is predicted to be, then a box for every
frame of the track's life, interpolated between detections and held a few frames past the first and the last.

The excerpt is processed offline, so a frame between two detections gets the box interpolated from both (not
a prediction from the past alone); a track that goes undetected for a while keeps its predicted box until
`max_gap` frames have passed, so a missed detection never unmasks anyone. Pure Python: no numpy, no AWS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
    """A rectangle in frame pixels, floats (interpolation keeps sub-pixel positions)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    @property
    def size(self) -> float:
        return max(self.width, self.height)

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height

    def grown(self, margin: float) -> Box:
        """The box with `margin` pixels more on every side."""
        return Box(self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin)

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        left, top = min(self.x, other.x), min(self.y, other.y)
        right = max(self.x + self.width, other.x + other.width)
        bottom = max(self.y + self.height, other.y + other.height)
        return Box(left, top, right - left, bottom - top)

    def overlap(self, other: Box) -> float:
        """The share of this box's area that `other` covers."""
        width = min(self.x + self.width, other.x + other.width) - max(self.x, other.x)
        height = min(self.y + self.height, other.y + other.height) - max(self.y, other.y)
        if width <= 0 or height <= 0:
            return 0.0
        return width * height / (self.width * self.height)


@dataclass(frozen=True)
class Detection:
    frame: int
    kind: str
    box: Box
    score: float
    every: int = 1  # frames between two looks of the detector that found it
    followed: bool = False  # found by following the track's look, not by a detector


@dataclass(frozen=True)
class TrackerSettings:
    """How far a track may be looked for, and how long it lives on without a detection."""

    # A detection continues a track if its centre lies within this many of the track's sizes of the predicted
    # centre (plus the distance the track moves in the gap), and its size is within `max_size_ratio` of it.
    gate: float = 1.0
    # And further by this many pixels for every frame it went undetected: its speed is known only roughly.
    drift: float = 1.0
    max_size_ratio: float = 2.0
    # Frames a track may go undetected and still continue (then its box is interpolated across the gap).
    max_gap: int = 30
    # Shorter for kinds looked at every frame: a moving region gone for a few frames has left (or stopped,
    # which the finder holds); linked on further, it would join up the regions of different people.
    max_gaps: Mapping[str, int] = field(default_factory=lambda: {"moving": 5})
    # Frames the box is kept before the first and after the last detection (moving on at the track's speed).
    hold: int = 8
    # Detections a track needs to be kept: one lone detection may be a false alarm, but masking it costs
    # little and missing a face costs much, so 1.
    min_detections: int = 1


@dataclass
class Track:
    """Detections of one object, in frame order."""

    track_id: str
    kind: str
    detections: list[Detection] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.detections[0].frame

    @property
    def last(self) -> int:
        return self.detections[-1].frame

    def velocity(self) -> tuple[float, float]:
        """Pixels a frame, from the last detections a few frames apart (one step is too noisy)."""
        if len(self.detections) < 2:
            return 0.0, 0.0
        end = self.detections[-1]
        start = next((d for d in reversed(self.detections[:-1]) if end.frame - d.frame >= 4), self.detections[0])
        frames = end.frame - start.frame
        (x0, y0), (x1, y1) = start.box.centre, end.box.centre
        return (x1 - x0) / frames, (y1 - y0) / frames

    def predicted(self, frame: int) -> Box:
        last = self.detections[-1].box
        vx, vy = self.velocity()
        gap = frame - self.last
        return Box(last.x + vx * gap, last.y + vy * gap, last.width, last.height)

    def boxes(self, frames: int, hold: int, since: int | None = None, until: int | None = None) -> dict[int, Box]:
        """A box for every frame from `hold` before the first detection to `hold` after the last, in [0, frames),
        moving on at the track's speed; and, where `since` or `until` reach further, its first (last) box where
        it was first (last) seen, from `since` (to `until`): something that stopped, or was hidden, is still there.
        """
        out: dict[int, Box] = {}
        for before, after in zip(self.detections, self.detections[1:], strict=False):
            for frame in range(before.frame, after.frame):
                out[frame] = _between(before, after, frame)
        head, tail = self.detections[0], self.detections[-1]
        vx, vy = self.velocity()
        for gap in range(0, hold + 1):
            for frame, anchor, sign in ((head.frame - gap, head, -1), (tail.frame + gap, tail, 1)):
                if 0 <= frame < frames and frame not in out:
                    box = anchor.box
                    out[frame] = Box(box.x + sign * vx * gap, box.y + sign * vy * gap, box.width, box.height)
        still = [(range(max(0, since), head.frame), head.box)] if since is not None else []
        still += [(range(tail.frame + 1, min(frames, until + 1)), tail.box)] if until is not None else []
        for span, box in still:
            for frame in span:
                out[frame] = out[frame].union(box) if frame in out else box
        return dict(sorted(out.items()))


def _between(before: Detection, after: Detection, frame: int) -> Box:
    t = (frame - before.frame) / (after.frame - before.frame)
    a, b = before.box, after.box
    return Box(
        a.x + (b.x - a.x) * t,
        a.y + (b.y - a.y) * t,
        a.width + (b.width - a.width) * t,
        a.height + (b.height - a.height) * t,
    )


class Tracker:
    """Links detections frame by frame; feed it the frames in order, then take `tracks()`."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._open: list[Track] = []
        self._closed: list[Track] = []
        self._count = 0

    @property
    def open(self) -> list[Track]:
        """The tracks that may still continue."""
        return list(self._open)

    def update(
        self, frame: int, detections: Iterable[Detection], carried: Mapping[str, Detection] | None = None
    ) -> list[tuple[str, Detection]]:
        """Match one frame's detections to the open tracks of their kind (the rest start tracks); return
        each detection with the id of its track. `carried` continues open tracks by id (where each was
        followed to by its look): those take no other detection this frame."""
        self._close_stale(frame)
        pending = list(detections)
        carried = carried or {}
        assigned: list[tuple[str, Detection]] = []
        for track in self._open:
            if (detection := carried.get(track.track_id)) is not None and detection.frame > track.last:
                track.detections.append(detection)
                assigned.append((track.track_id, detection))
        predicted = [track.predicted(frame) for track in self._open]  # once a track, not once a pair
        pairs = sorted(
            (cost, number, index)
            for number, track in enumerate(self._open)
            for index, detection in enumerate(pending)
            if detection.kind == track.kind
            and detection.frame > track.last
            and (cost := self._cost(predicted[number], detection.box, frame - track.last)) is not None
        )
        taken_tracks: set[int] = set()
        taken_detections: set[int] = set()
        for _, number, index in pairs:  # greedy, nearest first: enough for objects a gate apart
            if number in taken_tracks or index in taken_detections:
                continue
            self._open[number].detections.append(pending[index])
            assigned.append((self._open[number].track_id, pending[index]))
            taken_tracks.add(number)
            taken_detections.add(index)
        for index, detection in enumerate(pending):
            if index not in taken_detections:
                self._count += 1
                track = Track(f"{detection.kind}-{self._count}", detection.kind, [detection])
                self._open.append(track)
                assigned.append((track.track_id, detection))
        return assigned

    def tracks(self) -> list[Track]:
        kept = [t for t in self._closed + self._open if len(t.detections) >= self.settings.min_detections]
        return sorted(kept, key=lambda t: (t.first, t.track_id))

    def _cost(self, predicted: Box, found: Box, gap: int) -> float | None:
        """How far a detection lies from where the track was expected, in reaches; None beyond the gate."""
        ratio = found.size / predicted.size
        if not 1 / self.settings.max_size_ratio <= ratio <= self.settings.max_size_ratio:
            return None
        (px, py), (dx, dy) = predicted.centre, found.centre
        distance = math.hypot(px - dx, py - dy)
        reach = self.settings.gate * max(predicted.size, found.size) + self.settings.drift * (gap - 1)
        return distance / reach if distance <= reach else None

    def _close_stale(self, frame: int) -> None:
        gaps = self.settings.max_gaps
        stale = [t for t in self._open if frame - t.last > gaps.get(t.kind, self.settings.max_gap)]
        self._closed.extend(stale)
        self._open = [t for t in self._open if t not in stale]


def link(detections: Sequence[Detection], settings: TrackerSettings | None = None) -> list[Track]:
    """Tracks from detections of any frames and kinds (sorted here by frame)."""
    tracker = Tracker(settings)
    by_frame: dict[int, list[Detection]] = {}
    for detection in detections:
        by_frame.setdefault(detection.frame, []).append(detection)
    for frame in sorted(by_frame):
        tracker.update(frame, by_frame[frame])
    return tracker.tracks()
