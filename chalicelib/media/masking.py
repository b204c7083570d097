"""Mask other people in a stored clip for a subject-access export (GDPR Art. 15): JPEG stills, H.264 excerpt."""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from chalicelib.media.video import InvalidVideo, MediaLimits, VideoInfo, _opened, _video_stream, probe

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.plane import VideoPlane
    from av.video.stream import VideoStream
    from PIL import Image

# As in video.py, `av` and PIL are imported inside the functions: the API imports this module for
# Box, ExportLimits and InvalidExport and must not pay PyAV's cold start for them.

# A box is cut into cells no smaller than this, and its longer side into at most _CELLS_ACROSS of them;
# each cell becomes its mean (irreversible), then a Gaussian blur as wide as a cell hides the grid. In cells of
# 8 px a face of 16 to 24 px kept the light and dark of its features (bench/bench_redaction.py measured a third
# of its detail left in some frames), and a figure in five cells across its box too: 16 px cells leave no more
# than two across such a face, and four across the box do the same for the figure.
_MIN_CELL = 16
_CELLS_ACROSS = 4
_BLUR_STEPS = 4
# The excerpt's encoder: keyframe every 2 s, no scene-cut keyframes, near-transparent quality.
_GOP_S = 2
_X264_OPTIONS = {"preset": "veryfast", "crf": "20"}
# Float seconds from an API versus the demuxed duration: forgive a millisecond at the clip's end.
_TIME_SLACK_S = 0.001


class InvalidExport(ValueError):
    """The export request does not fit the clip or the limits; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        """Keep `reason` separately so callers can show it without the exception's decoration."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Box:
    """A rectangle to mask, in source-video pixels; it may reach past the frame's edges."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        """Refuse non-integer coordinates and boxes without area."""
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in vars(self).values()):
            raise InvalidExport(f"box {self} must have integer coordinates")
        if self.width <= 0 or self.height <= 0:
            raise InvalidExport(f"box {self.width}x{self.height} has no area")


@dataclass(frozen=True)
class ExportLimits:
    """Largest export one request may ask for."""

    max_excerpt_s: float = 120.0
    max_stills: int = 20
    max_boxes: int = 50


@dataclass(frozen=True)
class ExcerptInfo:
    """What masked_excerpt wrote: frame count, span from first frame's start to last frame's end, size."""

    frames: int
    duration_s: float
    width: int
    height: int


class _Region(NamedTuple):
    """A box clipped to the frame, as Pillow's (left, top, right, bottom) with right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int


_DEFAULT_LIMITS = ExportLimits()


def _regions(boxes: Sequence[Box], width: int, height: int, limits: ExportLimits) -> tuple[_Region, ...]:
    """Clip each box to the `width` x `height` frame; refuse too many boxes, or one wholly outside."""
    if len(boxes) > limits.max_boxes:
        raise InvalidExport(f"{len(boxes)} boxes over limit {limits.max_boxes}")
    regions = []
    for number, box in enumerate(boxes, start=1):
        region = _Region(max(0, box.x), max(0, box.y), min(width, box.x + box.width), min(height, box.y + box.height))
        if region.left >= region.right or region.top >= region.bottom:
            raise InvalidExport(f"box {number} lies outside the {width}x{height} frame")
        regions.append(region)
    return tuple(regions)


def check_boxes(boxes: Sequence[Box], width: int, height: int, limits: ExportLimits = _DEFAULT_LIMITS) -> None:
    """Refuse too many boxes, or one wholly outside the `width` x `height` frame."""
    _regions(boxes, width, height, limits)


def _check_time(name: str, seconds: float, duration_s: float, *, at_end: bool = False) -> None:
    """Refuse a time outside the clip: [0, duration), or [0, duration] if `at_end` (an excerpt's end)."""
    inside = 0 <= seconds <= duration_s + _TIME_SLACK_S if at_end else 0 <= seconds < duration_s
    if not inside:
        raise InvalidExport(f"{name} {seconds}s outside the clip (0 to {duration_s:.3f}s)")


def _ticks(stream: VideoStream, seconds: float) -> int:
    """Return the pts `seconds` after the clip's first frame, rounded to the stream's clock."""
    return (stream.start_time or 0) + round(Fraction(seconds) / stream.time_base)


def _decoded_from(container: InputContainer, stream: VideoStream, target: int, info: VideoInfo) -> Iterator[VideoFrame]:
    """Decode from the keyframe at or before pts `target` to the end, checking each frame's size."""
    import av

    try:
        container.seek(target, stream=stream)
        frames = container.decode(stream)
        first = next(frames, None)
        if first is not None and first.pts is not None and first.pts > target:
            # The index sent the seek past the target (a fragmented file without one): decode from the start.
            container.seek(stream.start_time or 0, stream=stream)
            frames = container.decode(stream)
            first = next(frames, None)
        if first is None:
            raise InvalidVideo("truncated: no decodable frame")
        for frame in itertools.chain([first], frames):
            if frame.pts is None:
                raise InvalidVideo("corrupt: frame without timestamp")
            # Boxes are in the header's pixels: a frame of another size must not slip through half-masked.
            if (frame.width, frame.height) != (info.width, info.height):
                raise InvalidVideo(
                    f"corrupt: a {frame.width}x{frame.height} frame in a {info.width}x{info.height} clip"
                )
            yield frame
    except av.FFmpegError as exc:
        raise InvalidVideo(f"corrupt: decoding failed ({exc})") from exc


def _cell(width: int, height: int) -> int:
    """Return the pixelation cell size, in luma pixels, for a box of `width` x `height`."""
    return max(_MIN_CELL, math.ceil(max(width, height) / _CELLS_ACROSS))


def _pixelated(whole: Image.Image, region: _Region, cell: int) -> Image.Image:
    """`region` of the 8-bit plane image `whole` as the mean of each cell, blurred."""
    from PIL import Image, ImageFilter

    width, height = region.right - region.left, region.bottom - region.top
    cells = (math.ceil(width / cell), math.ceil(height / cell))
    # BOX averages every source pixel of a cell into one value; nothing of the detail survives.
    coarse = whole.crop(region).resize(cells, Image.Resampling.BOX)
    # Blurred a cell wide to hide the grid, at _BLUR_STEPS px a cell: blurring at full size costs 10x more.
    steps = (cells[0] * _BLUR_STEPS, cells[1] * _BLUR_STEPS)
    smooth = coarse.resize(steps, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(_BLUR_STEPS))
    return smooth.resize((width, height), Image.Resampling.BILINEAR)


class _Cluster(NamedTuple):
    """Regions that overlap, directly or through others, masked as one in cells of `cell` px."""

    regions: tuple[_Region, ...]
    cell: int


def _clusters(regions: Sequence[_Region]) -> list[_Cluster]:
    """The regions in clusters, each with the coarsest cell any of its regions needs."""
    groups: list[list[_Region]] = []
    for region in set(regions):
        touching = [g for g in groups if any(_overlap(region, other) for other in g)]
        merged = [region] + [r for g in touching for r in g]
        groups = [g for g in groups if g not in touching] + [merged]
    return [_Cluster(tuple(g), max(_cell(r.right - r.left, r.bottom - r.top) for r in g)) for g in groups]


def _overlap(a: _Region, b: _Region) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


def _halved(cluster: _Cluster) -> _Cluster:
    """The cluster on a 4:2:0 chroma plane: half size, rounded outwards so every chroma sample touching a box is
    masked, in half the cell."""
    halves = tuple(_Region(r.left // 2, r.top // 2, -(-r.right // 2), -(-r.bottom // 2)) for r in cluster.regions)
    return _Cluster(halves, max(1, -(-cluster.cell // 2)))


def _mask_plane(plane: VideoPlane, clusters: Sequence[_Cluster]) -> None:
    """Pixelate every cluster of the 8-bit `plane`, in place: its bounding box pixelated in the cluster's cells,
    pasted only within its regions. Masked one over the other, overlapping boxes left the edge where one mask met
    the other running through the smaller box, along the rim of whoever was in it. The plane is copied out and
    back once: writing it row by row costs more than the masking itself."""
    from PIL import Image, ImageDraw

    if not clusters:
        return
    view = memoryview(plane)
    whole = Image.frombytes("L", (plane.line_size, plane.height), bytes(view))
    # Each cluster is pixelated from the unmasked plane: clusters share at most a chroma sample at their edges.
    for cluster in clusters:
        bound = _Region(
            min(r.left for r in cluster.regions),
            min(r.top for r in cluster.regions),
            max(r.right for r in cluster.regions),
            max(r.bottom for r in cluster.regions),
        )
        pixelated = _pixelated(whole, bound, cluster.cell)
        if len(cluster.regions) == 1:
            whole.paste(pixelated, (bound.left, bound.top))
            continue
        union = Image.new("L", pixelated.size, 0)
        draw = ImageDraw.Draw(union)
        for r in cluster.regions:
            draw.rectangle(
                (r.left - bound.left, r.top - bound.top, r.right - bound.left - 1, r.bottom - bound.top - 1), 255
            )
        whole.paste(pixelated, (bound.left, bound.top), union)
    view[:] = whole.tobytes()


def _masked(frame: VideoFrame, regions: Sequence[_Region]) -> VideoFrame:
    """Return `frame` as yuv420p with every region pixelated and blurred in all three planes."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    # A decoded frame shares its buffers with the decoder's reference pictures: writing into them
    # unshared would corrupt every later frame predicted from this one. This copies only if shared.
    frame.make_writable()
    luma, *chroma = frame.planes
    clusters = _clusters(regions)
    _mask_plane(luma, clusters)
    halved = [_halved(cluster) for cluster in clusters]
    for plane in chroma:
        _mask_plane(plane, halved)
    return frame


def masked_stills(
    source: Path,
    times_s: Sequence[float],
    boxes: Sequence[Box],
    *,
    quality: int = 90,
    limits: ExportLimits = _DEFAULT_LIMITS,
) -> tuple[bytes, ...]:
    """Return, for each time, the frame shown then at full size with every box masked, as JPEG bytes."""
    if not 1 <= quality <= 95:
        raise ValueError(f"bad JPEG quality {quality}")
    if not 1 <= len(times_s) <= limits.max_stills:
        raise InvalidExport(f"{len(times_s)} stills, allowed 1 to {limits.max_stills}")
    info = probe(source, MediaLimits())
    regions = _regions(boxes, info.width, info.height, limits)
    return _stills(source, times_s, lambda _: regions, info, quality)


def redacted_stills(
    source: Path, times_s: Sequence[float], boxes_at: Callable[[int], Sequence[Box]], *, quality: int = 90
) -> tuple[bytes, ...]:
    """As masked_stills, but each still has its own boxes: `boxes_at(n)` for the n-th time."""
    info = probe(source, MediaLimits())
    return _stills(source, times_s, lambda n: _clipped(boxes_at(n), info.width, info.height), info, quality)


def _stills(
    source: Path,
    times_s: Sequence[float],
    regions_at: Callable[[int], Sequence[_Region]],
    info: VideoInfo,
    quality: int,
) -> tuple[bytes, ...]:
    for at_s in times_s:
        _check_time("still at", at_s, info.duration_s)
    stills = []
    with _opened(source) as container:
        stream = _video_stream(container)
        for number, at_s in enumerate(times_s):
            target = _ticks(stream, at_s)
            shown: VideoFrame | None = None
            # The first frame at or after the target; past the last frame's start, the last frame.
            for frame in _decoded_from(container, stream, target, info):
                shown = frame
                if cast(int, frame.pts) >= target:
                    break
            if shown is None:
                raise InvalidVideo(f"truncated: no frame at {at_s}s")
            buffer = io.BytesIO()
            _masked(shown, regions_at(number)).to_image().save(buffer, format="JPEG", quality=quality)
            stills.append(buffer.getvalue())
    return tuple(stills)


def masked_still(
    source: Path, at_s: float, boxes: Sequence[Box], *, quality: int = 90, limits: ExportLimits = _DEFAULT_LIMITS
) -> bytes:
    """Return the frame shown at `at_s` seconds into the clip, full size, every box masked, as JPEG bytes."""
    return masked_stills(source, [at_s], boxes, quality=quality, limits=limits)[0]


def masked_excerpt(
    source: Path,
    start_s: float,
    end_s: float,
    boxes: Sequence[Box],
    destination: Path,
    *,
    limits: ExportLimits = _DEFAULT_LIMITS,
) -> ExcerptInfo:
    """Write the frames with start_s <= t < end_s, every box masked, as a faststart H.264 MP4."""
    info = _excerpt_info(source, start_s, end_s, limits)
    regions = _regions(boxes, info.width, info.height, limits)
    return _write_excerpt(source, (start_s, end_s), lambda _: regions, info, destination)


def redacted_excerpt(
    source: Path,
    start_s: float,
    end_s: float,
    boxes_at: Callable[[int], Sequence[Box]],
    destination: Path,
    *,
    limits: ExportLimits = _DEFAULT_LIMITS,
) -> ExcerptInfo:
    """As masked_excerpt, but the boxes change frame by frame: `boxes_at(n)` for the excerpt's n-th frame."""
    info = _excerpt_info(source, start_s, end_s, limits)
    return _write_excerpt(
        source, (start_s, end_s), lambda n: _clipped(boxes_at(n), info.width, info.height), info, destination
    )


def _clipped(boxes: Sequence[Box], width: int, height: int) -> tuple[_Region, ...]:
    """Each box clipped to the frame; boxes wholly outside it (a track leaving the picture) are dropped."""
    regions = (_Region(max(0, b.x), max(0, b.y), min(width, b.x + b.width), min(height, b.y + b.height)) for b in boxes)
    return tuple(r for r in regions if r.left < r.right and r.top < r.bottom)


def _write_excerpt(
    source: Path,
    span_s: tuple[float, float],
    regions_at: Callable[[int], Sequence[_Region]],
    info: VideoInfo,
    destination: Path,
) -> ExcerptInfo:
    _check_time("start", span_s[0], info.duration_s)
    _check_time("end", span_s[1], info.duration_s, at_end=True)
    # Written beside the destination and renamed at the end: a failure leaves no partial export behind.
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        result = _encode_excerpt(source, span_s, regions_at, info, partial)
        partial.replace(destination)
    finally:
        partial.unlink(missing_ok=True)
    return result


def _excerpt_info(source: Path, start_s: float, end_s: float, limits: ExportLimits) -> VideoInfo:
    """The clip's header, once the span is one an export may ask for and the frame one H.264 can carry."""
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        raise InvalidExport(f"start {start_s}s and end {end_s}s must be finite")
    if end_s <= start_s:
        raise InvalidExport(f"end {end_s}s not after start {start_s}s")
    if end_s - start_s > limits.max_excerpt_s:
        raise InvalidExport(f"excerpt of {end_s - start_s:.1f}s over limit {limits.max_excerpt_s:.0f}s")
    info = probe(source, MediaLimits())
    if info.width % 2 or info.height % 2:
        raise InvalidExport(f"{info.width}x{info.height} cannot be encoded as 4:2:0 H.264 without cropping")
    return info


def _encode_excerpt(
    source: Path,
    span_s: tuple[float, float],
    regions_at: Callable[[int], Sequence[_Region]],
    info: VideoInfo,
    destination: Path,
) -> ExcerptInfo:
    """Stream decode, mask and encode frame by frame from `source` to `destination`."""
    import av
    from av.video.frame import PictureType

    with _opened(source) as container:
        stream = _video_stream(container)
        time_base = stream.time_base
        start, end = _ticks(stream, span_s[0]), _ticks(stream, span_s[1])
        rate = stream.average_rate or stream.guessed_rate or Fraction(info.fps).limit_denominator(1001)
        gop = max(1, round(_GOP_S * rate))
        options = {**_X264_OPTIONS, "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        with av.open(str(destination), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
            encoder = output.add_stream("libx264", rate=rate, options=options)
            encoder.width, encoder.height, encoder.pix_fmt = info.width, info.height, "yuv420p"
            encoder.codec_context.gop_size = gop
            # The source's clock, so the excerpt keeps its timing even where the camera dropped frames.
            encoder.codec_context.time_base = time_base
            frames, first, last_end = 0, None, 0
            for frame in _decoded_from(container, stream, start, info):
                pts = cast(int, frame.pts)
                if pts >= end:
                    break
                if pts < start:
                    continue
                first = pts if first is None else first
                last_end = pts + (frame.duration or round(1 / (rate * time_base)))
                masked = _masked(frame, regions_at(frames))
                masked.pts, masked.time_base = pts - first, time_base
                # The decoder marks the source's keyframes, and libx264 would obey: keep to the 2 s GOP instead.
                masked.pict_type = PictureType.NONE
                output.mux(encoder.encode(masked))
                frames += 1
            if first is None:
                raise InvalidExport(f"no frame between {span_s[0]}s and {span_s[1]}s")
            output.mux(encoder.encode(None))
    return ExcerptInfo(frames, float((last_end - first) * time_base), info.width, info.height)
