"""Find what to mask in an excerpt: run the detectors on every `stride`-th frame, link the detections into
tracks, and give every track a box in every frame of its life and a strip of thumbnails for the reviewer.

Two passes over the excerpt: the first keeps a few frames to learn the still background (so whatever moves is
found whatever it is), the second detects, and follows each person, face and plate from frame to frame by its
look between detections (redaction/carrying.py). Memory stays flat with the excerpt's length: frames are
streamed, and each track keeps at most `_THUMBS_KEPT` crops.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from PIL import Image

from chalicelib.media.masking import InvalidExport, _check_time, _decoded_from, _ticks
from chalicelib.media.redaction.tracking import Box, Detection, Track, Tracker, TrackerSettings
from chalicelib.media.video import MediaLimits, VideoInfo, _opened, _video_stream, probe
from redaction.carrying import Carrier, CarrySettings
from redaction.detectors import (
    FaceDetector,
    Found,
    MotionDetector,
    PersonDetector,
    PlateDetector,
    _iou,
    nms,
)

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

_BACKGROUND_SAMPLES = 15
_THUMBS_KEPT = 12  # crops a track keeps while the excerpt is read (halved when full)
_THUMBS_SHOWN = 6
_THUMB_SPACING = 5  # frames at least between two crops of a track
_THUMB_HEIGHT = 64
# Frames within which another moving region seen where one vanished (or appeared) continues it.
_TAKEOVER = 3
# Frames a moving region must have been seen before its vanishing means someone stopped there.
_STILL_AFTER = 5
_FILLS_REGIONS = ("person", "plate")  # whole figures: a face is a part of a moving region
# A detector's box overlapping a carried box by this much (intersection over union) is on the same track.
_CONFIRMS = 0.3
# A moving region filled this much by the people and plates in it is theirs.
_EXPLAINED = 0.8


@dataclass(frozen=True)
class FinderSettings:
    """How often each detector runs (frames between runs): what moves is looked at often and cheaply, the
    whole frame rarely (it finds those who stand still, and still things do not need to be found often)."""

    motion_stride: int = 1  # differencing: ~10 ms a 720p frame
    face_stride: int = 3  # faces inside the moving regions
    # Faces, people and plates on the whole frame: ~5 s a 720p frame on 2 cores. Whatever moves is found by
    # motion; this finds who stands still, and still things need not be looked at often.
    full_stride: int = 50
    face_scale: float = 1.0
    # Faces are looked for inside every moving region, small regions scaled up by this much: a face far away
    # is found there for a fraction of the cost of scaling the whole frame.
    roi_face_scale: float = 2.0
    roi_small: float = 96.0  # regions up to this size (px) are scaled by roi_face_scale, larger ones not
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    carry: CarrySettings = field(default_factory=CarrySettings)


@dataclass(frozen=True)
class FoundTrack:
    track_id: str
    kind: str
    detections: int
    score: float
    boxes: dict[int, Box]  # frame index within the excerpt → box
    thumbnails: bytes  # a JPEG strip of up to _THUMBS_SHOWN crops, left to right in time


@dataclass(frozen=True)
class FoundTracks:
    frames: int
    width: int
    height: int
    time_base: Fraction
    pts: list[int]  # each excerpt frame's pts, in the source's time base
    start_pts: int  # the pts of the clip's first frame (times in seconds are counted from it)
    tracks: list[FoundTrack]

    def seconds(self, frame: int) -> float:
        return float((self.pts[frame] - self.start_pts) * self.time_base)


class Detectors:
    """The models, loaded once per process (a warm function reuses them)."""

    def __init__(self, threads: int = 2) -> None:
        self.faces = FaceDetector(threads=threads)
        self.people = PersonDetector()
        self.plates = PlateDetector(threads=threads)


def find_tracks(
    source: Path, start_s: float, end_s: float, detectors: Detectors, settings: FinderSettings | None = None
) -> FoundTracks:
    """Tracks of faces, people, plates and moving things in the frames with start_s <= t < end_s."""
    settings = settings or FinderSettings()
    info = probe(source, MediaLimits())
    _check_time("start", start_s, info.duration_s)
    if end_s <= start_s:
        raise InvalidExport(f"end {end_s}s not after start {start_s}s")
    samples = _background_samples(source, start_s, end_s, info)
    motion = MotionDetector(samples)
    carrier = Carrier(samples, settings.carry)
    del samples
    tracker = Tracker(settings.tracker)
    crops: dict[str, list[tuple[int, np.ndarray]]] = {}
    pts: list[int] = []
    with _opened(source) as container:
        stream = _video_stream(container)
        for index, frame in enumerate(_excerpt(container, stream, start_s, end_s, info)):
            pts.append(cast(int, frame.pts))
            if index % settings.motion_stride:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            foreground = carrier.foreground(rgb)
            carried = carrier.carry(index, foreground, tracker.open)
            found, confirmed = _confirmed(_detect(rgb, index, detectors, motion, settings), carried)
            found = _unexplained(found, carried)
            assigned = tracker.update(index, found, carried)
            for track_id, detection in assigned:
                _keep_crop(crops.setdefault(track_id, []), index, rgb, detection.box)
            carrier.remember(foreground, assigned, set(carried) - confirmed)
            carrier.forget({track.track_id for track in tracker.open})
        start_pts = stream.start_time or 0
        time_base = stream.time_base
    if not pts:
        raise InvalidExport(f"no frame between {start_s}s and {end_s}s")
    linked = tracker.tracks()
    still = {track.track_id: _still_span(track, linked, info, len(pts)) for track in linked}
    moving: dict[int, list[Box]] = {}
    for track in linked:
        if track.kind == "moving":
            for detection in track.detections:
                moving.setdefault(detection.frame, []).append(detection.box)
    tracks = [
        _found_track(track, len(pts), crops.get(track.track_id, []), settings, still[track.track_id], moving)
        for track in linked
    ]
    rate = Fraction(time_base.numerator, time_base.denominator)
    return FoundTracks(len(pts), info.width, info.height, rate, pts, start_pts, tracks)


def _excerpt(
    container: InputContainer, stream: VideoStream, start_s: float, end_s: float, info: VideoInfo
) -> Iterator[VideoFrame]:
    start, end = _ticks(stream, start_s), _ticks(stream, end_s)
    for frame in _decoded_from(container, stream, start, info):
        pts = cast(int, frame.pts)
        if pts >= end:
            return
        if pts >= start:
            yield frame


def _background_samples(source: Path, start_s: float, end_s: float, info: VideoInfo) -> list[np.ndarray]:
    """About _BACKGROUND_SAMPLES frames spread over the excerpt (every frame of a very short one)."""
    fps = info.fps or 25.0
    every = max(1, math.floor((end_s - start_s) * fps / _BACKGROUND_SAMPLES))
    with _opened(source) as container:
        stream = _video_stream(container)
        frames = _excerpt(container, stream, start_s, end_s, info)
        return [frame.to_ndarray(format="rgb24") for frame in itertools.islice(frames, 0, None, every)]


def _detect(
    rgb: np.ndarray, index: int, detectors: Detectors, motion: MotionDetector, settings: FinderSettings
) -> list[Detection]:
    """One frame's detections, each with how often its detector looks (a track's hold follows it)."""
    found: list[tuple[str, Found, int]] = []
    moving = motion.detect(rgb)
    found += [("moving", f, settings.motion_stride) for f in moving]
    if index % settings.full_stride == 0:
        found += [("person", f, settings.full_stride) for f in detectors.people.detect(rgb)]
        found += [("plate", f, settings.full_stride) for f in detectors.plates.detect(rgb)]
    faces: list[tuple[Found, int]] = []
    if index % settings.face_stride == 0:
        faces += [(f, settings.face_stride) for f in _faces_in(rgb, moving, detectors.faces, settings)]
    if index % settings.full_stride == 0:
        faces += [(f, settings.full_stride) for f in detectors.faces.detect(rgb, settings.face_scale)]
    # One face found by both passes is one detection: the best-scoring box, and the shorter of the two strides.
    kept = nms([f for f, _ in faces], 0.3)
    for face in kept:
        every = min(e for f, e in faces if f == face or _iou(f[0], face[0]) >= 0.3)
        found.append(("face", face, every))
    return [Detection(index, kind, box, score, every) for kind, (box, score), every in found]


def _confirmed(found: list[Detection], carried: dict[str, Detection]) -> tuple[list[Detection], set[str]]:
    """A detector's box on a track carried here replaces the carried box (it is surer, and keeps the track from
    drifting); the detections that are on no carried track, and the tracks confirmed."""
    rest, confirmed = [], set()
    for detection in found:
        same = [
            (_iou(c.box, detection.box), track_id)
            for track_id, c in carried.items()
            if track_id not in confirmed and c.kind == detection.kind and _iou(c.box, detection.box) >= _CONFIRMS
        ]
        if same:
            track_id = max(same)[1]
            carried[track_id] = detection
            confirmed.add(track_id)
        else:
            rest.append(detection)
    return rest, confirmed


def _unexplained(found: list[Detection], carried: dict[str, Detection]) -> list[Detection]:
    """Without the moving regions that the people and plates carried or found in this frame fill: those are
    masked by their own tracks, and a region around the requester and someone else is not kept or masked whole
    but as the two tracks it holds. A region they do not fill (someone no detector found beside them) stays."""
    held = [d.box.grown(d.box.size * 0.1) for d in [*carried.values(), *found] if d.kind in _FILLS_REGIONS]
    return [d for d in found if d.kind != "moving" or _filled(d.box, held) < _EXPLAINED]


def _filled(region: Box, boxes: list[Box]) -> float:
    """The share of `region` that the union of `boxes` covers (on a grid of 4 px cells)."""
    cells = np.zeros((max(1, math.ceil(region.height / 4)), max(1, math.ceil(region.width / 4))), dtype=bool)
    for box in boxes:
        left, top = max(0, round((box.x - region.x) / 4)), max(0, round((box.y - region.y) / 4))
        right = min(cells.shape[1], round((box.x + box.width - region.x) / 4))
        bottom = min(cells.shape[0], round((box.y + box.height - region.y) / 4))
        if right > left and bottom > top:
            cells[top:bottom, left:right] = True
    return float(cells.mean())


def _faces_in(rgb: np.ndarray, regions: list[Found], faces: FaceDetector, settings: FinderSettings) -> list[Found]:
    """Faces looked for inside each moving region (grown by half, at least 48 px a side); small regions scaled
    up, where a distant face is too small for the model at its own size."""
    height, width = rgb.shape[:2]
    found: list[Found] = []
    for box, _ in regions:
        side = max(48.0, box.size * 1.5)
        x, y = box.centre
        left, top = max(0, int(x - side / 2)), max(0, int(y - side / 2))
        right, bottom = min(width, int(x + side / 2)), min(height, int(y + side / 2))
        if right - left < 8 or bottom - top < 8:
            continue
        crop = np.ascontiguousarray(rgb[top:bottom, left:right])
        scale = settings.roi_face_scale if box.size <= settings.roi_small else 1.0
        for face, score in faces.detect(crop, scale):
            found.append((Box(face.x + left, face.y + top, face.width, face.height), score))
    return found


def _keep_crop(kept: list[tuple[int, np.ndarray]], index: int, rgb: np.ndarray, box: Box) -> None:
    if len(kept) >= _THUMBS_KEPT:
        del kept[1::2]  # keep every other, so the strip still spans the whole track
    spacing = max(_THUMB_SPACING, kept[1][0] - kept[0][0] if len(kept) >= 2 else 0)
    if kept and index - kept[-1][0] < spacing:
        return
    grown = box.grown(box.size * 0.15)
    height, width = rgb.shape[:2]
    left, top = max(0, int(grown.x)), max(0, int(grown.y))
    right, bottom = min(width, math.ceil(grown.x + grown.width)), min(height, math.ceil(grown.y + grown.height))
    if right <= left or bottom <= top:
        return
    crop = Image.fromarray(rgb[top:bottom, left:right])
    crop.thumbnail((_THUMB_HEIGHT * 2, _THUMB_HEIGHT))
    kept.append((index, np.asarray(crop)))


def _strip(crops: list[tuple[int, np.ndarray]]) -> bytes:
    if not crops:
        return b""
    step = max(1, math.ceil(len(crops) / _THUMBS_SHOWN))
    chosen = [Image.fromarray(crop) for _, crop in crops[::step]]
    scaled = [c.resize((max(1, round(c.width * _THUMB_HEIGHT / c.height)), _THUMB_HEIGHT)) for c in chosen]
    strip = Image.new("RGB", (sum(c.width for c in scaled) + 2 * (len(scaled) - 1), _THUMB_HEIGHT), (40, 40, 40))
    x = 0
    for crop in scaled:
        strip.paste(crop, (x, 0))
        x += crop.width + 2
    buffer = io.BytesIO()
    strip.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _still_span(track: Track, tracks: list[Track], info: VideoInfo, frames: int) -> tuple[int | None, int | None]:
    """Where a moving region appears or vanishes inside the picture (not at its edge) and no other region takes
    over there, someone stood still (or was hidden): its box is kept there back to where another region left
    that place (or the start), and on until another sets off from there (or the end). A region split in two,
    or merged into another, is taken over: no hold. Tracks of detectors are held as usual."""
    if track.kind != "moving" or len(track.detections) < _STILL_AFTER:
        return None, None  # a flicker of a few frames is no one who stopped
    head, tail = track.detections[0], track.detections[-1]
    others = [t for t in tracks if t is not track and t.kind == "moving"]
    since = until = None
    if _inside(head.box, info) and not _taken_over(others, head, range(head.frame - _TAKEOVER, head.frame)):
        since = max(
            (t.last for t in others if t.last < track.first and _meets(t.detections[-1].box, head.box)), default=0
        )
    if _inside(tail.box, info) and not _taken_over(others, tail, range(tail.frame + 1, tail.frame + _TAKEOVER + 1)):
        until = min(
            (t.first for t in others if t.first > track.last and _meets(t.detections[0].box, tail.box)),
            default=frames - 1,
        )
    return since, until


def _taken_over(others: list[Track], end: Detection, frames: range) -> bool:
    """Another region is seen where this one ends, just before it begins or just after it ends."""
    return any(d.frame in frames and _meets(d.box, end.box) for t in others for d in t.detections)


def _inside(box: Box, info: VideoInfo) -> bool:
    """Wholly inside the picture, with half its size to spare on every side."""
    margin = box.size / 2
    return (
        box.x >= margin
        and box.y >= margin
        and box.x + box.width <= info.width - margin
        and box.y + box.height <= info.height - margin
    )


def _meets(a: Box, b: Box) -> bool:
    return a.overlap(b) > 0 or b.overlap(a) > 0


def _looks_away(detection: Detection, moving: dict[int, list[Box]], settings: FinderSettings) -> int:
    """Frames its detector looks away after `detection`: a track is held that long past its first and last
    detection, and then some. A whole-frame detection (every full_stride frames) is held that long only where
    nothing moves: something moving is followed by motion every frame, and a long still hold would mask where
    it has walked away from."""
    if detection.every > settings.motion_stride and any(
        box.overlap(detection.box) >= 0.5 for box in moving.get(detection.frame, ())
    ):
        return settings.face_stride
    return detection.every


def _found_track(
    track: Track,
    frames: int,
    crops: list[tuple[int, np.ndarray]],
    settings: FinderSettings,
    still: tuple[int | None, int | None],
    moving: dict[int, list[Box]],
) -> FoundTrack:
    hold = settings.tracker.hold + min(_looks_away(d, moving, settings) for d in track.detections)
    # What the reviewer is told the detectors found: a track starts with a detection, followed ones continue it.
    detected = [d for d in track.detections if not d.followed]
    score = sum(d.score for d in detected) / len(detected)
    boxes = track.boxes(frames, hold, *still)
    return FoundTrack(track.track_id, track.kind, len(detected), score, boxes, _strip(crops))
