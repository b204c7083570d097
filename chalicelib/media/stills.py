"""Stills of an accepted clip (the poster first, side by side in one JPEG), from its keyframes with PyAV and
Pillow; no AWS."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.media.video import InvalidVideo, _declared_duration_s, _opened, _video_stream

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.packet import Packet
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream
    from PIL.Image import Image


@dataclass(frozen=True)
class Thumbnails:
    """One JPEG of stills made from keyframes only, side by side: the poster (the first keyframe), then the
    keyframes nearest evenly spaced times; `stills` of them, each `still_width` × `still_height`. One object
    to store (a PUT per clip, not one per image); viewers crop the still they show."""

    jpeg: bytes
    stills: int
    still_width: int
    still_height: int


def _keyframe(container: InputContainer, stream: VideoStream, target: int | None) -> Packet | None:
    """The packet of the keyframe at or before `target` (the first keyframe when None), found by seeking in
    the index and reading packets, decoding nothing."""
    if target is not None:
        container.seek(target, stream=stream)
    return next((packet for packet in container.demux(stream) if packet.size and packet.is_keyframe), None)


def _decoded(stream: VideoStream, packet: Packet) -> VideoFrame | None:
    """Decode one keyframe packet alone: a decoder that delays output (B-frames, threads) gives it on flush."""
    frames = stream.codec_context.decode(packet) or stream.codec_context.decode(None)
    return frames[0] if frames else None


def _image(frame: VideoFrame, width: int) -> Image:
    """`frame` scaled to `width` px wide (never up), keeping its aspect, as a Pillow image."""
    out_width = min(width, frame.width)
    out_height = max(1, round(frame.height * out_width / frame.width))
    # Scaling inside swscale while converting to RGB costs ~1 ms at 720p; converting the full frame
    # and then shrinking it with Pillow costs ~8 ms.
    return frame.to_image(width=out_width, height=out_height, interpolation="AREA")


def _jpeg(image: Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _side_by_side(images: list[Image]) -> Image:
    if len(images) == 1:
        return images[0]
    from PIL import Image as Pillow

    sheet = Pillow.new("RGB", (sum(image.width for image in images), images[0].height))
    for index, image in enumerate(images):
        sheet.paste(image, (index * images[0].width, 0))
    return sheet


def thumbnails(path: Path, *, count: int = 4, width: int = 320, quality: int = 80) -> Thumbnails:
    """The poster and up to `count` stills in all, from the keyframes at or before evenly spaced times.

    Only keyframes are decoded, each once: a clip whose keyframes are sparser than the spacing (Debian's
    ffmpeg writes one every 10 s) gets fewer stills rather than long runs of frames decoded to reach an
    exact time. Cost: opening the file, one seek and one keyframe decode per still.
    """
    import av

    if count < 0 or width < 1 or not 1 <= quality <= 95:
        raise ValueError(f"bad thumbnail settings: {count=} {width=} {quality=}")
    with _opened(path) as container:
        stream = _video_stream(container)
        stream.codec_context.skip_frame = "NONKEY"
        start = stream.start_time or 0
        span = int((_declared_duration_s(container, stream) or 0.0) / stream.time_base)
        images: list[Image] = []
        shown: set[int | None] = set()
        try:
            for index in range(max(count, 1)):
                packet = _keyframe(container, stream, start + span * index // count if index else None)
                if packet is None or packet.pts in shown:
                    continue  # no keyframe there (checked below for the poster), or one already shown
                frame = _decoded(stream, packet)
                if frame is not None:
                    shown.add(packet.pts)
                    images.append(_image(frame, width))
        except av.FFmpegError as exc:
            raise InvalidVideo(f"corrupt: decoding failed ({exc})") from exc
        if not images:
            raise InvalidVideo("truncated: no decodable keyframe")
        return Thumbnails(
            jpeg=_jpeg(_side_by_side(images), quality),
            stills=len(images),
            still_width=images[0].width,
            still_height=images[0].height,
        )
