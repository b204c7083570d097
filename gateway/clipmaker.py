"""Make real MP4 test clips the way an NVR writes them."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import av
from av.video.stream import VideoStream
from PIL import Image, ImageDraw, ImageFont

_ENCODERS = {"h264": "libx264", "hevc": "libx265"}
_MOVFLAGS = {
    "faststart": "+faststart",
    "moov_end": "",
    "fragmented": "frag_keyframe+empty_moov+default_base_moof",
}


def _encoder(codec: str) -> str:
    """Return the PyAV encoder name for `codec`, or raise if the wheel lacks it."""
    try:
        name = _ENCODERS[codec]
    except KeyError:
        raise ValueError(f"codec {codec!r} not supported; use one of {sorted(_ENCODERS)}") from None
    if name not in av.codecs_available:
        raise RuntimeError(f"this PyAV build has no {name} encoder, cannot make {codec} clips")
    return name


class _Scene:
    """A gradient with a bright box sweeping across it, drawn straight into YUV 4:2:0 planes."""

    def __init__(self, width: int, height: int, fps: int, label: str) -> None:
        """Pre-render everything static once; per frame only the box and frame number are drawn."""
        self.width, self.height, self.fps = width, height, fps
        self.font = ImageFont.load_default(size=max(10, height // 20))
        self.box = max(8, min(width, height) // 5)
        ramp = Image.linear_gradient("L")
        self.luma = ramp.rotate(90).resize((width, height))
        if label:
            ImageDraw.Draw(self.luma).text((4, height - 4), label, fill=255, font=self.font, anchor="ld")
        # Chroma kept within 64..192 so the gradient is tinted, not garish.
        tint = ramp.point(lambda value: 64 + value // 2)
        self.chroma = (
            tint.resize((width // 2, height // 2)),
            tint.rotate(90).resize((width // 2, height // 2)),
        )

    def frame(self, index: int) -> av.VideoFrame:
        """Render frame `index` as a yuv420p VideoFrame."""
        # A full sweep every 4 s, so frames a second apart always differ visibly.
        sweep = 4 * self.fps
        left = (self.width - self.box) * (index % sweep) // sweep
        top = (self.height - self.box) // 2
        luma = self.luma.copy()
        draw = ImageDraw.Draw(luma)
        draw.rectangle((left, top, left + self.box, top + self.box), fill=235)
        draw.text((4, 4), f"#{index:06d}", fill=255, font=self.font)
        planes = [luma]
        half = self.box // 2
        for static in self.chroma:
            chroma = static.copy()
            # Neutral chroma under the box keeps it white rather than tinted by the gradient.
            ImageDraw.Draw(chroma).rectangle((left // 2, top // 2, left // 2 + half, top // 2 + half), fill=128)
            planes.append(chroma)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, image in zip(frame.planes, planes, strict=True):
            plane.update(_padded(image, plane.line_size))
        frame.pts = index
        return frame


def _padded(image: Image.Image, line_size: int) -> bytes:
    """Return the plane bytes with each row padded to FFmpeg's aligned line size."""
    if image.width == line_size:
        return image.tobytes()
    canvas = Image.new("L", (line_size, image.height))
    canvas.paste(image)
    return canvas.tobytes()


def make_clip(
    path: Path,
    *,
    seconds: float = 10.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    codec: str = "h264",
    layout: str = "faststart",
    label: str = "",
    keyframe_every_s: float = 2.0,
) -> None:
    """Encode a moving test picture to `path` as an MP4 in the given codec and container layout."""
    if layout not in _MOVFLAGS:
        raise ValueError(f"layout {layout!r} not supported; use one of {sorted(_MOVFLAGS)}")
    if width % 2 or height % 2:
        raise ValueError(f"{width}x{height}: yuv420p needs even dimensions")
    encoder = _encoder(codec)
    gop = max(1, round(keyframe_every_s * fps))
    # Fixed GOP, no scene-cut keyframes and no B-frames: what surveillance cameras emit.
    gop_params = f"keyint={gop}:min-keyint={gop}:scenecut=0"
    # superfast encodes as quickly as ultrafast here yet keeps CABAC, like a camera's High profile;
    # x265 needs ultrafast to stay near 2 s for 10 s of 720p.
    options = {"preset": "ultrafast" if codec == "hevc" else "superfast", "bf": "0"}
    if codec == "hevc":
        options["x265-params"] = f"{gop_params}:log-level=error"
    else:
        options["x264-params"] = gop_params
    container_options = {"movflags": _MOVFLAGS[layout]} if _MOVFLAGS[layout] else {}

    scene = _Scene(width, height, fps, label)
    with av.open(str(path), mode="w", format="mp4", options=container_options) as output:
        stream = cast(VideoStream, output.add_stream(encoder, rate=fps, options=options))
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        for index in range(round(seconds * fps)):
            output.mux(stream.encode(scene.frame(index)))
        output.mux(stream.encode(None))
