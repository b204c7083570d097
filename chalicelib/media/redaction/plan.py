"""From the tracks found and the reviewer's decisions to the boxes masked in each frame. Pure Python (the API
and the exports function use it; neither has numpy).

Rules: every track is masked unless the reviewer keeps it; the requester's tracks are kept, with the tracks
that spend most of their life inside them (the requester's own face inside their body); a kept track never
protects pixels from another track's mask, but for one: a moving region (the shapeless outline of whatever
moved, often of the requester and someone beside them at once) is masked around the requester's own figure,
not over it (the one beside them is masked by their own tracks, and the region's rest still is); every mask
grows by a margin for its size and its speed (a person's and a moving region's reach higher first, where a head
the box cut off may be), but over the requester's figure only someone else's figure is masked (their person
box, a detector's window, less the margin it has round them, with the head it may have cut off), grown by its
speed; a manual box is masked over its span whatever else is decided.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.media.redaction.tracking import Box

# A mask grows on every side by this share of the box's size, plus the distance it moves in this many
# frames (a box interpolated between detections lags an object that turns or speeds up), plus a pixel floor.
MARGIN_SHARE = 0.15
# A moving region is already grown (joined across gaps) around what moved, and a person detector's box has a
# margin round the figure: a smaller share of their size.
MARGIN_SHARE_LOOSE = {"moving": 0.05, "person": 0.05}
MARGIN_MOTION_FRAMES = 1
MARGIN_FLOOR = 2.0
# Masked around the requester's figure: a moving region (it may hold them), and the size margin of someone
# else's person box (the box, a detector's window, has a margin round their figure already). Over the requester
# their figure stays masked, with the lag margin, so someone passing in front of them stays masked: the window
# less FIGURE_SIDE of its width on each side and FIGURE_END of its height at the head and feet. Measured on the
# bench's walkers, a window on its figure holds it with 12-21 % of its width each side and 7-12 % of its height
# at either end: what is left keeps a few pixels round the figure, and the lag margin more. The whole window
# kept the requester's head and side masked where a passer-by's window reached over them.
_AROUND_FIGURES = {"moving", "person"}
FIGURE_SIDE = 0.1
FIGURE_END = 0.05
# A person detector's window may cut the head off, and so may a moving region (a far walker's small head barely
# differs from the background): a detector's window that replaced a followed one started 19 px below a 160 px
# walker's crown and was followed so for 48 frames, the top of the head bare above the mask; a moving region
# started 8-12 px below a 40 px walker's. Measured on the bench's walkers, a window's top lay up to 15.6 % of
# its height below the crown (720p; 10.9 % at 1080p). So the mask of a person's box or a moving region reaches
# HEAD_CUT of the box's height higher before its margins, and so does someone's figure masked over the
# requester. Not the requester's own figure, round which moving regions are masked: reaching higher, it bared
# the legs of a walker above them whom only a moving region masked.
HEAD_CUT = 0.2
# A track is the requester's own if in at least OWN_SHARE of its frames it and a requester's box cover each
# other (the smaller of the two lies at least OWN_INSIDE inside the larger: the face in the body, the moving
# region around them) and it is at most OWN_LARGER times the requester's box (not a crowd that holds them).
OWN_SHARE = 0.7
OWN_INSIDE = 0.7
OWN_LARGER = 3.0


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

    def speed(self, frame: int) -> float:
        """How fast its centre moves at `frame` (the faster of the steps in and out of it), pixels a frame: a
        track that jumps once (a detector's box replacing a followed one) is not given a wide margin all along."""
        box = self.boxes[frame]
        steps = [
            math.dist(box.centre, other.centre)
            for f in (frame - 1, frame + 1)
            if (other := self.boxes.get(f)) is not None
        ]
        return max(steps, default=0.0)


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


# A reviewer's click picks a person before a face, a face before a moving region, and those before a plate.
_PICKED_FIRST = {"person": 0, "face": 1, "moving": 2}


def tracks_at(tracks: Iterable[TrackRecord], frame: int, x: float, y: float) -> list[str]:
    """The tracks whose box in `frame` holds the point (a reviewer's click): people, faces, moving regions,
    then anything else, the smallest box first within each."""
    hits = [
        (_PICKED_FIRST.get(t.kind, len(_PICKED_FIRST)), t.boxes[frame].width * t.boxes[frame].height, t.track_id)
        for t in tracks
        if frame in t.boxes and t.boxes[frame].contains(x, y)
    ]
    return [track_id for _, _, track_id in sorted(hits)]


def requester_tracks(tracks: Sequence[TrackRecord], marked: Iterable[str]) -> set[str]:
    """The marked tracks and those that go with them for most of their life (the requester's face, the moving
    region around them). Not a moving region around a marked person: it is masked around their figure, since
    it may hold someone else beside them."""
    own = set(marked)
    marked_records = [t for t in tracks if t.track_id in own]
    figure = any(t.kind == "person" for t in marked_records)
    for track in tracks:
        if track.track_id in own or (figure and track.kind == "moving"):
            continue
        together = sum(
            1
            for frame, box in track.boxes.items()
            if any(frame in m.boxes and _together(box, m.boxes[frame]) for m in marked_records)
        )
        if together >= OWN_SHARE * len(track.boxes):
            own.add(track.track_id)
    return own


def _together(box: Box, requester: Box) -> bool:
    area, theirs = box.width * box.height, requester.width * requester.height
    if area > OWN_LARGER * theirs:
        return False
    covered = box.overlap(requester) if area <= theirs else requester.overlap(box)
    return covered >= OWN_INSIDE


def _with_head(window: Box) -> Box:
    """A person's window or a moving region reaching HEAD_CUT of its height higher, where a head it cut off
    may be."""
    head = window.height * HEAD_CUT
    return Box(window.x, window.y - head, window.width, window.height + head)


def _figure_in(window: Box) -> Box:
    """The part of a person detector's window that holds the figure (FIGURE_SIDE, FIGURE_END), with the head
    it may have cut off (HEAD_CUT)."""
    side, head, end = window.width * FIGURE_SIDE, window.height * HEAD_CUT, window.height * FIGURE_END
    return Box(window.x + side, window.y - head, window.width - 2 * side, window.height + head - end)


def _without(box: IntBox, hole: IntBox) -> list[IntBox]:
    """The box less the hole, as up to four boxes (above, below, left and right of it)."""
    left, top = max(box.x, hole.x), max(box.y, hole.y)
    right, bottom = min(box.x + box.width, hole.x + hole.width), min(box.y + box.height, hole.y + hole.height)
    if right <= left or bottom <= top:
        return [box]
    parts = [
        IntBox(box.x, box.y, box.width, top - box.y),
        IntBox(box.x, bottom, box.width, box.y + box.height - bottom),
        IntBox(box.x, top, left - box.x, bottom - top),
        IntBox(right, top, box.x + box.width - right, bottom - top),
    ]
    return [part for part in parts if part.width > 0 and part.height > 0]


@dataclass
class MaskPlan:
    """The masks of each frame: `boxes(frame)`. Moving regions, and other people's size margins, are masked
    around the boxes of `figures` (the requester's people tracks)."""

    tracks: Sequence[TrackRecord]
    masked: set[str]
    manual: Sequence[ManualBox] = ()
    figures: Sequence[TrackRecord] = ()

    def boxes(self, frame: int) -> list[IntBox]:
        out = []
        holes = [_outward(box) for figure in self.figures if (box := figure.boxes.get(frame)) is not None]
        for track in self.tracks:
            if track.track_id in self.masked and (box := track.boxes.get(frame)) is not None:
                share = MARGIN_SHARE_LOOSE.get(track.kind, MARGIN_SHARE)
                lag = MARGIN_MOTION_FRAMES * track.speed(frame)
                reach = _with_head(box) if track.kind in _AROUND_FIGURES else box
                grown = _outward(reach.grown(MARGIN_FLOOR + share * box.size + lag))
                parts = [grown]
                for hole in holes if track.kind in _AROUND_FIGURES else ():
                    parts = [part for whole in parts for part in _without(whole, hole)]
                if track.kind == "person" and parts != [grown]:
                    # Someone else's figure stays masked over the requester, and its lag margin.
                    parts.append(_outward(_figure_in(box).grown(lag)))
                out.extend(parts)
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
    """Mask every track but those kept and the requester's own (`requester_tracks`, as the review recorded
    them); `everyone` (a public release) masks all."""
    if everyone:
        return MaskPlan(tracks, {t.track_id for t in tracks}, manual)
    own = set(requester)
    figures = [t for t in tracks if t.track_id in own and t.kind == "person"]
    return MaskPlan(tracks, {t.track_id for t in tracks} - set(kept) - own, manual, figures)
