"""Find what to mask in an excerpt: run the detectors on every `stride`-th frame, link the detections into
tracks, and give every track a box in every frame of its life and a strip of thumbnails for the reviewer.

Two passes over the excerpt: the first keeps a few small frames to learn the still background (so whatever
moves is found whatever it is), the second detects. Memory stays flat with the excerpt's length: frames are
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
from chalicelib.media.redaction.detectors import (
    FaceDetector,
    Found,
    MotionDetector,
    PersonDetector,
    PlateDetector,
    nms,
)
from chalicelib.media.redaction.tracking import Box, Detection, Track, Tracker, TrackerSettings
from chalicelib.media.video import MediaLimits, VideoInfo, _opened, _video_stream, probe

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

_BACKGROUND_SAMPLES = 15
_THUMBS_KEPT = 12  # crops a track keeps while the excerpt is read (halved when full)
_THUMBS_SHOWN = 6
_THUMB_HEIGHT = 64


@dataclass(frozen=True)
class FinderSettings:
    """How often each detector runs (frames between runs) and at what scale."""

    stride: int = 3  # motion and faces
    full_stride: int = 6  # people and plates on the whole frame
    face_scale: float = 1.0
    # Faces are looked for again at this scale inside every moving region: small faces far away are found
    # there for a fraction of the cost of scaling the whole frame.
    roi_face_scale: float = 2.0
    tracker: TrackerSettings = field(default_factory=TrackerSettings)


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
    tracker = Tracker(settings.tracker)
    crops: dict[str, list[tuple[int, np.ndarray]]] = {}
    pts: list[int] = []
    with _opened(source) as container:
        stream = _video_stream(container)
        for index, frame in enumerate(_excerpt(container, stream, start_s, end_s, info)):
            pts.append(cast(int, frame.pts))
            if index % settings.stride:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            found = _detect(rgb, index, detectors, motion, settings)
            for track_id, detection in tracker.update(index, found):
                _keep_crop(crops.setdefault(track_id, []), index, rgb, detection.box)
        start_pts = stream.start_time or 0
        time_base = stream.time_base
    if not pts:
        raise InvalidExport(f"no frame between {start_s}s and {end_s}s")
    tracks = [_found_track(track, len(pts), crops.get(track.track_id, []), settings) for track in tracker.tracks()]
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
    found: list[tuple[str, Found]] = []
    moving = motion.detect(rgb)
    found += [("moving", f) for f in moving]
    found += [("face", f) for f in detectors.faces.detect(rgb, settings.face_scale)]
    found += [("face", f) for f in _faces_in(rgb, moving, detectors.faces, settings.roi_face_scale)]
    if index % settings.full_stride == 0:
        found += [("person", f) for f in detectors.people.detect(rgb)]
        found += [("plate", f) for f in detectors.plates.detect(rgb)]
    faces = nms([f for kind, f in found if kind == "face"], 0.3)
    others = [(kind, f) for kind, f in found if kind != "face"]
    return [Detection(index, kind, box, score) for kind, (box, score) in others + [("face", f) for f in faces]]


def _faces_in(rgb: np.ndarray, regions: list[Found], faces: FaceDetector, scale: float) -> list[Found]:
    """Faces looked for at `scale` inside each moving region (grown by half, at least 48 px a side)."""
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
        for face, score in faces.detect(crop, scale):
            found.append((Box(face.x + left, face.y + top, face.width, face.height), score))
    return found


def _keep_crop(kept: list[tuple[int, np.ndarray]], index: int, rgb: np.ndarray, box: Box) -> None:
    if len(kept) >= _THUMBS_KEPT:
        del kept[1::2]  # keep every other, so the strip still spans the whole track
    if kept and len(kept) >= 2 and index - kept[-1][0] < kept[1][0] - kept[0][0]:
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


def _found_track(
    track: Track, frames: int, crops: list[tuple[int, np.ndarray]], settings: FinderSettings
) -> FoundTrack:
    hold = settings.tracker.hold + settings.stride
    score = sum(d.score for d in track.detections) / len(track.detections)
    return FoundTrack(
        track.track_id, track.kind, len(track.detections), score, track.boxes(frames, hold), _strip(crops)
    )
