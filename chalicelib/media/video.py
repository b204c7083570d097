"""Probe uploaded surveillance clips with PyAV; no AWS, no environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

# `av` is imported inside the functions below: the API side imports this module for InvalidVideo and
# MediaLimits and must not pay ~90 ms of cold start for them. Stills (and Pillow) are in media.stills: the
# gateway probes clips but makes no stills.

ACCEPTED_CODECS = frozenset({"h264", "hevc"})
# FFmpeg's one demuxer for the ISO-BMFF family; it names itself "mov,mp4,m4a,3gp,3g2,mj2".
_MP4_DEMUXER = "mp4"
# The demuxed span may fall short of the declared one by rounding of the last frames' durations.
_SLACK_FRAMES = 3
_MIN_SLACK_S = 0.1


class InvalidVideo(ValueError):
    """The file is not a clip the archive accepts; `reason` says why in a few words."""

    def __init__(self, reason: str) -> None:
        """Keep `reason` separately so callers can show it without the exception's decoration."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MediaLimits:
    """Largest clip the archive will take, checked against the header before any decoding."""

    max_width: int = 7680
    max_height: int = 4320
    max_duration_s: float = 3600.0


@dataclass(frozen=True)
class VideoInfo:
    """What probe measured: codec and picture size from the header, duration from the packets."""

    codec: str
    width: int
    height: int
    fps: float
    duration_s: float
    container: str


@contextmanager
def _opened(path: Path) -> Iterator[InputContainer]:
    """Open `path` for demuxing, turning FFmpeg's refusal into InvalidVideo."""
    import av

    # A missing file is the caller's bug, not bad footage: keep it a FileNotFoundError.
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise InvalidVideo("not a video file") from exc
    with container:
        yield container


def _video_stream(container: InputContainer) -> VideoStream:
    """Return the first video stream, or refuse a file that has none."""
    if not container.streams.video:
        raise InvalidVideo("not a video file")
    return container.streams.video[0]


def _declared_duration_s(container: InputContainer, stream: VideoStream) -> float | None:
    """Return the duration the header claims, preferring the video track's own."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _container_name(container: InputContainer) -> str:
    """Name the container the way people do: "mov" for QuickTime brands, else "mp4"."""
    return "mov" if container.metadata.get("major_brand", "").strip() == "qt" else "mp4"


def _check_header(container: InputContainer, stream: VideoStream, limits: MediaLimits) -> None:
    """Refuse foreign containers and codecs, and absurd sizes, from the header alone."""
    if _MP4_DEMUXER not in container.format.name.split(","):
        raise InvalidVideo(f"container {container.format.name} not accepted")
    codec = stream.codec_context.name
    if codec not in ACCEPTED_CODECS:
        raise InvalidVideo(f"codec {codec} not accepted")
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise InvalidVideo("not a video file: no picture size")
    if width > limits.max_width or height > limits.max_height:
        raise InvalidVideo(f"dimensions {width}x{height} over limit {limits.max_width}x{limits.max_height}")
    declared = _declared_duration_s(container, stream)
    if declared is not None and declared > limits.max_duration_s:
        raise InvalidVideo(f"duration {declared:.0f}s over limit {limits.max_duration_s:.0f}s")


def _demux_span(container: InputContainer, stream: VideoStream, limits: MediaLimits) -> tuple[int, float]:
    """Read every video packet without decoding; return the packet count and the span they cover."""
    import av

    count = 0
    first: int | None = None
    end: int | None = None
    # In the stream's ticks, once: a Fraction a packet (time_base is made anew at each read) doubled the demux.
    time_base = stream.time_base
    if time_base is None:
        raise InvalidVideo("not a video file: no time base")
    max_ticks = limits.max_duration_s / time_base
    try:
        for packet in container.demux(stream):
            # Demux ends each stream with an empty packet meant to flush decoders.
            if packet.size == 0:
                continue
            # FFmpeg flags a sample whose bytes run past end of file instead of raising.
            if packet.is_corrupt:
                raise InvalidVideo(f"truncated: frame {count + 1} is cut short")
            count += 1
            timestamp = packet.pts if packet.pts is not None else packet.dts
            if timestamp is None:
                continue
            first = timestamp if first is None else min(first, timestamp)
            packet_end = timestamp + (packet.duration or 0)
            end = packet_end if end is None else max(end, packet_end)
            # Fragmented files may declare no duration: stop reading a huge one as soon as it shows.
            if end - first > max_ticks:
                raise InvalidVideo(f"duration over limit {limits.max_duration_s:.0f}s")
    except av.FFmpegError as exc:
        raise InvalidVideo(f"truncated: demuxing stopped after {count} frames ({exc})") from exc
    if first is None or end is None:
        raise InvalidVideo("truncated: no video frames")
    return count, float((end - first) * time_base)


def probe(path: Path, limits: MediaLimits) -> VideoInfo:
    """Describe the clip at `path`; raise InvalidVideo if it is not a complete, acceptable clip."""
    with _opened(path) as container:
        stream = _video_stream(container)
        _check_header(container, stream, limits)
        count, duration_s = _demux_span(container, stream, limits)
        rate = stream.average_rate
        fps = float(rate) if rate else (count / duration_s if duration_s else 0.0)
        # The index (moov, or every moof of a fragmented file) lists the samples that should exist;
        # fewer on disk means the upload stopped early. A fragmented file cut exactly between
        # fragments lists only what it holds: the caller catches that by comparing durations.
        if stream.frames and count < stream.frames:
            raise InvalidVideo(f"truncated: {count} of {stream.frames} frames present")
        if stream.duration:
            declared = float(stream.duration * stream.time_base)
            if duration_s < declared - max(_SLACK_FRAMES * duration_s / count, _MIN_SLACK_S):
                raise InvalidVideo(f"truncated: {duration_s:.2f}s of {declared:.2f}s present")
        return VideoInfo(
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=fps,
            duration_s=duration_s,
            container=_container_name(container),
        )
