"""Tests for chalicelib.media.video against real clips encoded by gateway.clipmaker."""

from __future__ import annotations

import io
import os
import random
import struct
from pathlib import Path
from typing import cast

import av
import pytest
from av.video.stream import VideoStream
from PIL import Image, ImageChops, ImageStat

from chalicelib.media.stills import Thumbnails, thumbnails
from chalicelib.media.video import InvalidVideo, MediaLimits, _demux_span, probe
from gateway.clipmaker import make_clip

SECONDS = 4.0
WIDTH, HEIGHT, FPS = 320, 240, 25
LAYOUTS = ("faststart", "moov_end", "fragmented")
HAS_X265 = "libx265" in av.codecs_available
CLIPS = [("h264", layout) for layout in LAYOUTS] + [
    pytest.param(("hevc", layout), marks=pytest.mark.skipif(not HAS_X265, reason="no libx265")) for layout in LAYOUTS
]
# What a cut at half the bytes leaves: a moov at the end is lost with the tail, so nothing opens;
# otherwise the index promises frames whose bytes are missing.
HALF_CUT_REASON = {"faststart": "truncated", "moov_end": "not a video file", "fragmented": "truncated"}


@pytest.fixture(scope="module", params=CLIPS, ids="-".join)
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """Encode one small clip per codec and layout, shared by the module's tests."""
    codec, layout = request.param
    path = tmp_path_factory.mktemp("clips") / f"{codec}-{layout}.mp4"
    make_clip(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, fps=FPS, codec=codec, layout=layout, label="cam-01")
    return codec, layout, path


@pytest.fixture(scope="module")
def clip_thumbnails(clip: tuple[str, str, Path]) -> Thumbnails:
    """Thumbnail each clip once; several tests look at the result."""
    return thumbnails(clip[2])


def _top_level_boxes(data: bytes) -> list[tuple[int, str]]:
    """List (offset, type) of the MP4's top-level boxes."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes.append((offset, kind.decode("ascii")))
        offset += size
    return boxes


def _write_clip(path: Path, encoder: str, container_format: str) -> None:
    """Encode a few grey frames with any encoder and container, for refusal tests."""
    with av.open(str(path), mode="w", format=container_format) as output:
        stream = cast(VideoStream, output.add_stream(encoder, rate=FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(5):
            frame = av.VideoFrame.from_image(Image.new("RGB", (WIDTH, HEIGHT), (128, 128, 128)))
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def _refusal(path: Path, limits: MediaLimits | None = None) -> str:
    """Probe `path` expecting a refusal; return its reason."""
    with pytest.raises(InvalidVideo) as caught:
        probe(path, limits or MediaLimits())
    return caught.value.reason


def _decode_jpeg(data: bytes) -> Image.Image:
    """Open JPEG bytes, failing the test if they are anything else."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def test_probe_reports_codec_size_fps_and_duration(clip: tuple[str, str, Path]) -> None:
    codec, _, path = clip
    info = probe(path, MediaLimits())
    facts = (info.codec, info.width, info.height, info.fps, info.container)
    assert facts == (codec, WIDTH, HEIGHT, FPS, "mp4")
    assert info.duration_s == pytest.approx(SECONDS, abs=1 / FPS)


def test_random_bytes_are_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    # Seeded: some random bytes probe as a raw stream of another format (h263), refused with another reason.
    path.write_bytes(random.Random(2026).randbytes(64 * 1024))  # noqa: S311 - test data, not secrets
    assert _refusal(path) == "not a video file"


def test_empty_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    assert _refusal(path) == "not a video file"


def test_missing_file_is_a_caller_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "absent.mp4", MediaLimits())


def test_first_half_is_refused(clip: tuple[str, str, Path], tmp_path: Path) -> None:
    _, layout, path = clip
    data = path.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    assert _refusal(half).startswith(HALF_CUT_REASON[layout])


def test_cut_between_frames_is_refused_by_frame_count(tmp_path: Path) -> None:
    path = tmp_path / "whole.mp4"
    make_clip(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, layout="faststart")
    with av.open(str(path)) as container:
        # Cutting where a frame starts leaves no half-read frame; only the index count tells.
        cut_at = container.streams.video[0].index_entries[60].pos
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[:cut_at])
    assert _refusal(cut) == f"truncated: 60 of {int(SECONDS * FPS)} frames present"


def test_fragmented_cut_between_fragments_is_shorter_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "whole.mp4"
    make_clip(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, layout="fragmented")
    data = path.read_bytes()
    second_fragment = [offset for offset, kind in _top_level_boxes(data) if kind == "moof"][1]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:second_fragment])
    # One fragment per 2 s GOP: what is left is a valid, shorter clip; the caller compares durations.
    assert probe(cut, MediaLimits()).duration_s == pytest.approx(2.0)


def test_over_limit_dimensions_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "whole.mp4"
    make_clip(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, layout="faststart")
    data = path.read_bytes()
    mdat = next(offset for offset, kind in _top_level_boxes(data) if kind == "mdat")
    header_only = tmp_path / "header-only.mp4"
    header_only.write_bytes(data[:mdat])
    # With no frame data at all, only a header check can produce this reason.
    assert _refusal(header_only, MediaLimits(max_width=100)) == "dimensions 320x240 over limit 100x4320"


def test_over_limit_duration_refused(clip: tuple[str, str, Path]) -> None:
    assert _refusal(clip[2], MediaLimits(max_duration_s=1.0)) == "duration 4s over limit 1s"


def test_duration_over_limit_stops_the_demux(clip: tuple[str, str, Path]) -> None:
    # A fragmented file may declare no duration at all: the packets' span alone must stop reading it.
    with av.open(str(clip[2])) as container, pytest.raises(InvalidVideo) as refusal:
        _demux_span(container, container.streams.video[0], MediaLimits(max_duration_s=1.0))
    assert refusal.value.reason == "duration over limit 1s"


def test_other_codec_refused(tmp_path: Path) -> None:
    path = tmp_path / "mpeg4.mp4"
    _write_clip(path, "mpeg4", "mp4")
    assert _refusal(path) == "codec mpeg4 not accepted"


def test_other_container_refused(tmp_path: Path) -> None:
    path = tmp_path / "h264.mkv"
    _write_clip(path, "libx264", "matroska")
    assert _refusal(path) == "container matroska,webm not accepted"


def _tiles(made: Thumbnails) -> list[Image.Image]:
    """The stills of the one JPEG, cropped as viewers crop them (still n at x = n × still_width)."""
    sheet = _decode_jpeg(made.jpeg)
    assert sheet.size == (made.stills * made.still_width, made.still_height)
    width = made.still_width
    return [sheet.crop((x, 0, x + width, sheet.height)) for x in range(0, sheet.width, width)]


def test_poster_is_jpeg_of_clip_width_when_clip_is_narrower(clip_thumbnails: Thumbnails) -> None:
    assert _tiles(clip_thumbnails)[0].size == (WIDTH, HEIGHT)


def test_poster_is_scaled_down_to_requested_width(clip: tuple[str, str, Path]) -> None:
    assert _tiles(thumbnails(clip[2], width=160))[0].size == (160, 120)


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two same-size pictures' grey levels, 0..255."""
    return float(ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0])


def test_two_keyframes_give_the_poster_and_one_still_beside_it(clip_thumbnails: Thumbnails) -> None:
    # 4 s with a keyframe every 2 s: the times 0, 1, 2, 3 s find the keyframes at 0 and 2 s, each shown once.
    assert (clip_thumbnails.stills, clip_thumbnails.still_width, clip_thumbnails.still_height) == (2, WIDTH, HEIGHT)
    assert _decode_jpeg(clip_thumbnails.jpeg).size == (2 * WIDTH, HEIGHT)


def test_the_stills_after_the_poster_are_the_keyframes_at_evenly_spaced_times(tmp_path: Path) -> None:
    path = tmp_path / "every-second.mp4"
    make_clip(path, seconds=8, width=WIDTH, height=HEIGHT, fps=FPS, keyframe_every_s=1)

    made = thumbnails(path)

    with av.open(str(path)) as container:
        frames = {frame.pts or 0: frame.to_image() for frame in container.decode(video=0)}
        time_base = container.streams.video[0].time_base
    at = {round(float(pts * time_base), 2): image for pts, image in frames.items()}
    assert made.stills == 4
    # Each tile is the keyframe at 0 (the poster), 2, 4 and 6 s: nearer to it than to the frames beside it.
    for tile, second in zip(_tiles(made), (0.0, 2.0, 4.0, 6.0), strict=True):
        near = (round(second + offset / FPS, 2) for offset in (-3, -2, -1, 1, 2, 3))
        neighbours = [at[moment] for moment in near if moment in at]  # the poster has none before it
        assert _difference(tile, at[second]) < min(_difference(tile, frame) for frame in neighbours)


def test_a_clip_with_a_single_keyframe_gets_the_poster_alone(tmp_path: Path) -> None:
    path = tmp_path / "one-keyframe.mp4"
    make_clip(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, fps=FPS, keyframe_every_s=10)

    made = thumbnails(path)

    assert made.stills == 1
    assert _decode_jpeg(made.jpeg).size == (WIDTH, HEIGHT)


def test_count_zero_gives_poster_only(clip: tuple[str, str, Path]) -> None:
    result = thumbnails(clip[2], count=0)
    assert (result.stills, _decode_jpeg(result.jpeg).size) == (1, (WIDTH, HEIGHT))


def test_thumbnails_of_unopenable_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(os.urandom(64 * 1024))
    with pytest.raises(InvalidVideo, match="not a video file"):
        thumbnails(path)
