"""People, plates and faces carried from frame to frame by their look, between the whole-frame detections that find
them (a few a second at most: too slow for every frame): each track's foreground (what differs from the
excerpt's still background) is looked for again near where the track is predicted, so a track goes on as one
track through a miss of its detector, a stop, or a crossing with someone else, instead of breaking up into
pieces (and a requester marked once stays the one track marked).

Matching foreground rather than the plain picture keeps a box from sticking to the tarmac behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from chalicelib.media.redaction.tracking import Box, Detection, Track


@dataclass(frozen=True)
class CarrySettings:
    kinds: tuple[str, ...] = ("person", "plate", "face")
    threshold: int = 25  # grey levels from the background that count as foreground (noise is ~3)
    # Looked for within this share of the box's size (at least min_reach px) around where it is predicted.
    reach: float = 0.15
    min_reach: float = 4.0
    min_score: float = 0.5  # normalised correlation below which the track is not where it was looked for
    # At or above this correlation the look is refreshed (half old, half new): a person turning or a plate
    # nearing changes slowly; below it, the track may be half hidden and the old look is kept.
    refresh_score: float = 0.75
    crowded: float = 0.1  # a share of the box under another's, from which its look is not refreshed
    half_from: float = 64.0  # boxes of this size (px) and more are matched at half scale
    min_contrast: float = 2.0  # a look with less spread (grey levels) than this is background: not carried


# The share of a person's box left out of their look on each side, and at the head and feet.
_SIDE = 0.2
_END = 0.08


@dataclass
class _Look:
    pixels: np.ndarray  # foreground of the box's part inside the picture, at the frame's scale
    dx: int  # where that part starts inside the box
    dy: int


class Carrier:
    """The looks of the open tracks; `carry` finds them in the next frame, `remember` updates them."""

    def __init__(self, samples: Sequence[np.ndarray], settings: CarrySettings | None = None) -> None:
        self.settings = settings or CarrySettings()
        grey = [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) for rgb in samples]
        self._background = np.median(np.stack(grey), axis=0).astype(np.uint8)
        self._looks: dict[str, _Look] = {}

    def foreground(self, rgb: np.ndarray) -> np.ndarray:
        """The frame's grey levels where it differs from the background, 0 elsewhere."""
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        changed = cv2.absdiff(grey, self._background) > self.settings.threshold
        return np.where(changed, grey, 0).astype(np.uint8)

    def carry(self, frame: int, foreground: np.ndarray, tracks: Iterable[Track]) -> dict[str, Detection]:
        """Where each open track of a carried kind is found in this frame, by its look."""
        carried: dict[str, Detection] = {}
        for track in tracks:
            look = self._looks.get(track.track_id)
            if look is None or track.kind not in self.settings.kinds:
                continue
            found = self._find(foreground, look, track.predicted(frame))
            if found is not None:
                box, score = found
                carried[track.track_id] = Detection(frame, track.kind, box, score, followed=True)
        return carried

    def remember(self, foreground: np.ndarray, assigned: Sequence[tuple[str, Detection]], carried: set[str]) -> None:
        """Looks taken where each track was found: afresh for a detector's box, blended for one carried by its
        look, unless someone else's box overlaps it (passing in front, they would become part of the look)."""
        mine = [(track_id, d) for track_id, d in assigned if d.kind in self.settings.kinds]
        for track_id, detection in mine:
            if track_id in carried and (
                detection.score < self.settings.refresh_score
                or any(other != track_id and detection.box.overlap(d.box) > self.settings.crowded for other, d in mine)
            ):
                continue
            look = _look_at(foreground, detection.box, detection.kind)
            old = self._looks.get(track_id)
            if look is None:
                continue
            if track_id in carried and old is not None and old.pixels.shape == look.pixels.shape:
                look.pixels = cv2.addWeighted(old.pixels, 0.5, look.pixels, 0.5, 0)
            self._looks[track_id] = look

    def forget(self, open_ids: set[str]) -> None:
        """Drop the looks of tracks that have ended."""
        self._looks = {k: v for k, v in self._looks.items() if k in open_ids}

    def _find(self, foreground: np.ndarray, look: _Look, predicted: Box) -> tuple[Box, float] | None:
        settings = self.settings
        if float(look.pixels.std()) < settings.min_contrast:
            return None
        height, width = foreground.shape
        th, tw = look.pixels.shape
        reach = max(settings.min_reach, settings.reach * predicted.size)
        left = max(0, round(predicted.x + look.dx - reach))
        top = max(0, round(predicted.y + look.dy - reach))
        right = min(width, round(predicted.x + look.dx + tw + reach))
        bottom = min(height, round(predicted.y + look.dy + th + reach))
        if right - left < tw or bottom - top < th:
            return None  # the predicted box has left the picture
        window, template = foreground[top:bottom, left:right], look.pixels
        scale = 2 if predicted.size >= settings.half_from else 1
        if scale > 1:
            template = cv2.resize(template, (max(1, tw // scale), max(1, th // scale)), interpolation=cv2.INTER_AREA)
            window = cv2.resize(
                window,
                (max(1, window.shape[1] // scale), max(1, window.shape[0] // scale)),
                interpolation=cv2.INTER_AREA,
            )
            if window.shape[0] < template.shape[0] or window.shape[1] < template.shape[1]:
                return None
        result = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
        _, score, _, (x, y) = cv2.minMaxLoc(result)
        if not np.isfinite(score) or score < settings.min_score:
            return None
        box = Box(left + x * scale - look.dx, top + y * scale - look.dy, predicted.width, predicted.height)
        return box, float(score)


def _look_at(foreground: np.ndarray, box: Box, kind: str) -> _Look | None:
    """The foreground inside the box: for a person its middle (a detector's box has a margin round the
    figure, where a passer-by close to them would make the look partly theirs)."""
    height, width = foreground.shape
    inner = box
    if kind == "person":
        inner = Box(
            box.x + box.width * _SIDE,
            box.y + box.height * _END,
            box.width * (1 - 2 * _SIDE),
            box.height * (1 - 2 * _END),
        )
    left, top = max(0, round(inner.x)), max(0, round(inner.y))
    right, bottom = min(width, round(inner.x + inner.width)), min(height, round(inner.y + inner.height))
    if right - left < 4 or bottom - top < 4:
        return None
    return _Look(foreground[top:bottom, left:right].copy(), left - round(box.x), top - round(box.y))
