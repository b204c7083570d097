"""Tests for chalicelib.media.masking: masked stills and excerpts of real clips made by gateway.clipmaker."""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path

import av
import pytest
from av.video.plane import VideoPlane
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from chalicelib.media.masking import (
    Box,
    ExcerptInfo,
    ExportLimits,
    InvalidExport,
    masked_excerpt,
    masked_still,
    masked_stills,
)
from chalicelib.media.video import InvalidVideo
from gateway.clipmaker import make_clip

SECONDS = 3.0
WIDTH, HEIGHT, FPS = 320, 240, 25
HAS_X265 = "libx265" in av.codecs_available
SOURCES = [("h264", "faststart"), ("h264", "moov_end"), ("h264", "fragmented")] + [
    pytest.param(("hevc", layout), marks=pytest.mark.skipif(not HAS_X265, reason="no libx265"))
    for layout in ("faststart", "fragmented")
]

# What clipmaker draws, and the boxes a DPO would draw over it. The frame counter "#000123" sits at the
# top left; the label "cam-01" at the bottom left, boxed past the frame's left and bottom edges (clipped);
# the 48 px white square crosses the frame in 4 s at mid-height and stays inside SWEEP from 0.5 s to 2.5 s.
COUNTER = Box(0, 0, 96, 22)
LABEL = Box(-10, 208, 90, 50)
LABEL_CLIPPED = Box(0, 208, 80, 32)
SWEEP = Box(24, 88, 200, 64)
BOXES = (COUNTER, LABEL, SWEEP)
EXCERPT_S = (0.5, 2.5)
STILL_S = 1.0

# Thresholds, in levels of 0..255 per channel, from measurements over all five sources (H.264 and HEVC,
# each layout), with the measured extremes beside each; codec noise outside the boxes is 0.5 to 0.8.
# Inside each box, every frame: mean difference from the source 14.2 at least (label; counter 15.0,
# square's path 24.4).
MIN_INSIDE_DIFF = 8.0
# Inside: edge energy at most 0.11 of the source's over text, 0.30 over the square's path (the ramp's own
# slope survives the mask).
MAX_EDGE_RATIO = 0.5
# Inside: detail finer than 8 px (the box against itself shrunk 8x and enlarged back) at most 0.88; the
# source has 9.6 to 15.6, and a 3 px pixelate+blur, too weak to hide a face, keeps 2.2 to 3.8.
MAX_FINE_DETAIL = 1.5
# Only the square has chroma detail (neutral on the tinted ramp): inside SWEEP the excerpt's chroma
# planes differ from the source's by 4.0 at least; chroma left unmasked differs by 0.4 to 0.6.
MIN_CHROMA_DIFF = 2.0
# Outside the boxes: mean difference 0.53 to 0.61 in excerpts, 0.55 to 0.81 in JPEG stills (quality 90).
MAX_OUTSIDE_DIFF = 1.5
# In the band from BORDER to RING px around each box (the mask must not spill): at most 1.0.
MAX_RING_DIFF = 2.0
# 4:2:0 chroma is masked to the even pixel outside an odd edge, and codec blocks straddle the border.
BORDER = 2
RING = 16


@pytest.fixture(scope="module", params=SOURCES, ids="-".join)
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Encode one small clip per codec and layout, shared by the module's tests."""
    codec, layout = request.param
    path = tmp_path_factory.mktemp("clips") / f"{codec}-{layout}.mp4"
    make_clip(path, seconds=SECONDS, width=WIDTH, height=HEIGHT, fps=FPS, codec=codec, layout=layout, label="cam-01")
    return path


@pytest.fixture(scope="module")
def source_frames(clip: Path) -> list[tuple[float, Image.Image]]:
    """Decode every frame of the source, unmasked, as (seconds, RGB image): the reference."""
    with av.open(str(clip)) as container:
        return [(frame.time or 0.0, frame.to_image()) for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def still(clip: Path) -> Image.Image:
    """The masked still at STILL_S, decoded."""
    return _decode_jpeg(masked_still(clip, STILL_S, BOXES))


@pytest.fixture(scope="module")
def excerpt(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ExcerptInfo, Path]:
    """The masked excerpt EXCERPT_S of each clip, and what masked_excerpt reported."""
    destination = tmp_path_factory.mktemp("exports") / "excerpt.mp4"
    return masked_excerpt(clip, *EXCERPT_S, BOXES, destination), destination


def _decode_jpeg(data: bytes) -> Image.Image:
    """Open JPEG bytes as RGB, failing the test if they are anything else."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


def _decode_all(path: Path) -> list[tuple[float, Image.Image]]:
    """Decode every frame of `path` as (seconds, RGB image)."""
    with av.open(str(path)) as container:
        return [(frame.time or 0.0, frame.to_image()) for frame in container.decode(video=0)]


def _plane_image(plane: VideoPlane) -> Image.Image:
    """One 8-bit plane of a decoded frame as a greyscale image, without the row padding."""
    padded = Image.frombuffer("L", (plane.line_size, plane.height), bytes(plane))
    return padded.crop((0, 0, plane.width, plane.height))


def _chroma_planes(path: Path) -> list[tuple[Image.Image, Image.Image]]:
    """Decode every frame of `path` and return its two 4:2:0 chroma planes as greyscale images."""
    with av.open(str(path)) as container:
        return [(_plane_image(frame.planes[1]), _plane_image(frame.planes[2])) for frame in container.decode(video=0)]


def _index_at(frames: list[tuple[float, Image.Image]], seconds: float) -> int:
    """Index of the first frame at or after `seconds`, the frame a still at `seconds` shows."""
    return next(index for index, (time, _) in enumerate(frames) if time >= seconds - 1e-6)


def _area(box: Box, grow: int = 0) -> tuple[int, int, int, int]:
    """The box clipped to the frame, grown by `grow` px each side, as Pillow's (left, top, right, bottom)."""
    return (
        max(0, box.x - grow),
        max(0, box.y - grow),
        min(WIDTH, box.x + box.width + grow),
        min(HEIGHT, box.y + box.height + grow),
    )


def _mean(stat: ImageStat.Stat) -> float:
    """Mean over all bands."""
    return sum(stat.mean) / len(stat.mean)


def inside_diff(masked: Image.Image, source: Image.Image, box: Box) -> float:
    """Mean absolute difference per channel inside the box."""
    area = _area(box)
    return _mean(ImageStat.Stat(ImageChops.difference(masked.crop(area), source.crop(area))))


def edge_energy(image: Image.Image, box: Box) -> float:
    """Mean edge strength inside the box, away from its border (where the mask meets the picture)."""
    left, top, right, bottom = _area(box)
    edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
    return _mean(ImageStat.Stat(edges.crop((left + 2, top + 2, right - 2, bottom - 2))))


def fine_detail(image: Image.Image, box: Box) -> float:
    """Mean difference between the box and itself shrunk 8x and enlarged back: detail finer than 8 px."""
    crop = image.crop(_area(box))
    width, height = crop.size
    coarse = crop.resize((math.ceil(width / 8), math.ceil(height / 8)), Image.Resampling.BOX)
    return _mean(ImageStat.Stat(ImageChops.difference(crop, coarse.resize(crop.size, Image.Resampling.BILINEAR))))


def outside_diff(masked: Image.Image, source: Image.Image, boxes: tuple[Box, ...]) -> float:
    """Mean absolute difference per channel outside the boxes grown by BORDER."""
    outside = Image.new("L", masked.size, 255)
    draw = ImageDraw.Draw(outside)
    for box in boxes:
        left, top, right, bottom = _area(box, BORDER)
        draw.rectangle((left, top, right - 1, bottom - 1), fill=0)
    return _mean(ImageStat.Stat(ImageChops.difference(masked, source), outside))


def ring_diff(masked: Image.Image, source: Image.Image, box: Box) -> float:
    """Mean absolute difference per channel in the band BORDER to RING px outside the box: no spill."""
    ring = Image.new("L", masked.size, 0)
    draw = ImageDraw.Draw(ring)
    left, top, right, bottom = _area(box, RING)
    draw.rectangle((left, top, right - 1, bottom - 1), fill=255)
    left, top, right, bottom = _area(box, BORDER)
    draw.rectangle((left, top, right - 1, bottom - 1), fill=0)
    return _mean(ImageStat.Stat(ImageChops.difference(masked, source), ring))


def _top_level_boxes(data: bytes) -> list[str]:
    """List the MP4's top-level box types in file order."""
    kinds, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        kinds.append(kind.decode("ascii"))
        offset += size
    return kinds


def test_still_is_a_full_size_jpeg(still: Image.Image) -> None:
    assert still.size == (WIDTH, HEIGHT)


@pytest.mark.parametrize("box", BOXES, ids=["counter", "label", "sweep"])
def test_still_inside_each_box_differs_and_loses_detail(
    still: Image.Image, source_frames: list[tuple[float, Image.Image]], box: Box
) -> None:
    source = source_frames[_index_at(source_frames, STILL_S)][1]
    assert inside_diff(still, source, box) > MIN_INSIDE_DIFF
    assert edge_energy(still, box) < MAX_EDGE_RATIO * edge_energy(source, box)
    assert fine_detail(still, box) < MAX_FINE_DETAIL < fine_detail(source, box)


def test_still_outside_boxes_matches_source(still: Image.Image, source_frames: list[tuple[float, Image.Image]]) -> None:
    source = source_frames[_index_at(source_frames, STILL_S)][1]
    assert outside_diff(still, source, BOXES) < MAX_OUTSIDE_DIFF
    for box in BOXES:
        assert ring_diff(still, source, box) < MAX_RING_DIFF, box


@pytest.mark.parametrize("at_s", [0.0, 1.0, 1.01, 2.0, SECONDS - 0.01])
def test_still_shows_first_frame_at_or_after_time(
    clip: Path, source_frames: list[tuple[float, Image.Image]], at_s: float
) -> None:
    # Only the counter masked: the square's position in the still tells which frame it is.
    image = _decode_jpeg(masked_still(clip, at_s, [COUNTER]))
    distances = [inside_diff(image, frame, SWEEP) for _, frame in source_frames]
    # Past the last frame's start the still is the last frame, still on screen then.
    expected = next((i for i, (time, _) in enumerate(source_frames) if time >= at_s - 1e-6), len(source_frames) - 1)
    assert distances.index(min(distances)) == expected


def test_stills_in_one_call_equal_single_stills(clip: Path) -> None:
    times = [2.5, 0.2, 1.3]
    assert masked_stills(clip, times, BOXES) == tuple(masked_still(clip, at_s, BOXES) for at_s in times)


# Two overlapping boxes (a passer-by's and a bigger one's): the bigger one's left edge, x = 40, crosses the
# smaller one's rows. Masked one over the other, the two masks met there in a step of 10 to 55 levels (of the
# still's luma, mean over the rows) that followed the rim of whoever was in the smaller box; masked as one,
# 0.4 to 0.6, as anywhere inside a mask (up to 2.2 between neighbouring columns).
OVERLAPPED = Box(8, 80, 48, 80)
OVERLAPPING = Box(40, 60, 200, 120)
MAX_SEAM_STEP = 3.0


def test_overlapping_boxes_are_masked_as_one_without_a_seam(clip: Path) -> None:
    luma = _decode_jpeg(masked_still(clip, STILL_S, [OVERLAPPED, OVERLAPPING])).convert("L")
    top, bottom = OVERLAPPED.y + 4, OVERLAPPED.y + OVERLAPPED.height - 4
    left_of_edge = luma.crop((OVERLAPPING.x - 1, top, OVERLAPPING.x, bottom))
    at_edge = luma.crop((OVERLAPPING.x, top, OVERLAPPING.x + 1, bottom))
    step = _mean(ImageStat.Stat(ImageChops.difference(left_of_edge, at_edge)))
    assert step < MAX_SEAM_STEP


def test_box_partly_outside_is_clipped(clip: Path) -> None:
    assert masked_still(clip, STILL_S, [LABEL]) == masked_still(clip, STILL_S, [LABEL_CLIPPED])


def test_no_boxes_gives_the_plain_frame(clip: Path, source_frames: list[tuple[float, Image.Image]]) -> None:
    image = _decode_jpeg(masked_still(clip, STILL_S, []))
    assert outside_diff(image, source_frames[_index_at(source_frames, STILL_S)][1], ()) < MAX_OUTSIDE_DIFF


def test_excerpt_reports_and_holds_the_frames_of_its_span(
    excerpt: tuple[ExcerptInfo, Path], source_frames: list[tuple[float, Image.Image]]
) -> None:
    info, path = excerpt
    start, end = EXCERPT_S
    expected = [time for time, _ in source_frames if start <= time < end]
    duration = len(expected) / FPS
    assert (info.frames, info.width, info.height) == (len(expected), WIDTH, HEIGHT)
    assert info.duration_s == pytest.approx(duration)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = (stream.codec_context.name, stream.codec_context.pix_fmt, stream.average_rate)
        declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        times = [frame.time for frame in container.decode(stream)]
    assert facts == ("h264", "yuv420p", FPS)
    assert declared == pytest.approx(duration, abs=1e-3)
    assert times == pytest.approx([time - expected[0] for time in expected], abs=1e-3)


def test_excerpt_every_frame_masked_inside_and_intact_outside(
    excerpt: tuple[ExcerptInfo, Path], source_frames: list[tuple[float, Image.Image]]
) -> None:
    start, end = EXCERPT_S
    sources = [image for time, image in source_frames if start <= time < end]
    frames = [image for _, image in _decode_all(excerpt[1])]
    assert len(frames) == len(sources)
    for index, (masked, source) in enumerate(zip(frames, sources, strict=True)):
        for box in BOXES:
            assert inside_diff(masked, source, box) > MIN_INSIDE_DIFF, (index, box)
            assert edge_energy(masked, box) < MAX_EDGE_RATIO * edge_energy(source, box), (index, box)
            assert fine_detail(masked, box) < MAX_FINE_DETAIL, (index, box)
            assert ring_diff(masked, source, box) < MAX_RING_DIFF, (index, box)
        assert outside_diff(masked, source, BOXES) < MAX_OUTSIDE_DIFF, index


def test_excerpt_masks_chroma_too(excerpt: tuple[ExcerptInfo, Path], clip: Path) -> None:
    start, end = EXCERPT_S
    with av.open(str(clip)) as container:
        times = [frame.time or 0.0 for frame in container.decode(video=0)]
    sources = [planes for time, planes in zip(times, _chroma_planes(clip), strict=True) if start <= time < end]
    half = (SWEEP.x // 2, SWEEP.y // 2, (SWEEP.x + SWEEP.width) // 2, (SWEEP.y + SWEEP.height) // 2)
    for index, (masked, source) in enumerate(zip(_chroma_planes(excerpt[1]), sources, strict=True)):
        for plane, original in zip(masked, source, strict=True):
            difference = ImageChops.difference(plane.crop(half), original.crop(half))
            assert ImageStat.Stat(difference).mean[0] > MIN_CHROMA_DIFF, index


def test_excerpt_frames_are_the_source_frames_of_the_span(
    clip: Path, tmp_path: Path, source_frames: list[tuple[float, Image.Image]]
) -> None:
    # Only the counter masked: where the square is tells which source frame each excerpt frame is.
    destination = tmp_path / "counter.mp4"
    masked_excerpt(clip, *EXCERPT_S, [COUNTER], destination)
    first = _index_at(source_frames, EXCERPT_S[0])
    for offset, (_, image) in enumerate(_decode_all(destination)):
        nearby = range(max(0, first + offset - 2), min(len(source_frames), first + offset + 3))
        distances = {index: inside_diff(image, source_frames[index][1], SWEEP) for index in nearby}
        assert min(distances, key=distances.__getitem__) == first + offset


def test_whole_clip_excerpt_is_faststart_with_keyframe_every_two_seconds(clip: Path, tmp_path: Path) -> None:
    destination = tmp_path / "whole.mp4"
    info = masked_excerpt(clip, 0.0, SECONDS, BOXES, destination)
    with av.open(str(destination)) as container:
        keyframes = [frame.time for frame in container.decode(video=0) if frame.key_frame]
    assert (info.frames, keyframes) == (round(SECONDS * FPS), [0.0, 2.0])
    kinds = _top_level_boxes(destination.read_bytes())
    assert kinds.index("moov") < kinds.index("mdat")


def test_box_entirely_outside_refused(clip: Path) -> None:
    for box in (Box(WIDTH, 0, 10, 10), Box(-20, -20, 20, 20), Box(0, HEIGHT + 5, 50, 50)):
        with pytest.raises(InvalidExport, match="outside the 320x240 frame"):
            masked_still(clip, STILL_S, [COUNTER, box])


def test_box_without_area_or_integer_corners_refused() -> None:
    for size in ((0, 10), (10, 0), (-5, 10)):
        with pytest.raises(InvalidExport, match="no area"):
            Box(0, 0, *size)
    with pytest.raises(InvalidExport, match="integer"):
        Box(0, 0, 10.5, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("at_s", [-0.1, SECONDS, 10.0, math.nan, math.inf])
def test_still_time_outside_clip_refused(clip: Path, at_s: float) -> None:
    with pytest.raises(InvalidExport, match="outside the clip"):
        masked_still(clip, at_s, BOXES)


@pytest.mark.parametrize(
    ("start_s", "end_s", "reason"),
    [
        (-0.5, 1.0, "outside the clip"),
        (SECONDS, SECONDS + 1, "outside the clip"),
        (1.0, SECONDS + 0.5, "outside the clip"),
        (1.0, math.nan, "finite"),
        (2.0, 1.0, "not after start"),
        (1.0, 1.0, "not after start"),
        (1.01, 1.03, "no frame between"),
    ],
)
def test_excerpt_span_refused(clip: Path, tmp_path: Path, start_s: float, end_s: float, reason: str) -> None:
    destination = tmp_path / "excerpt.mp4"
    with pytest.raises(InvalidExport, match=reason):
        masked_excerpt(clip, start_s, end_s, BOXES, destination)
    assert list(tmp_path.iterdir()) == []


def test_excerpt_over_limit_refused(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidExport, match="excerpt of 2.0s over limit 1s"):
        masked_excerpt(clip, 0.0, 2.0, BOXES, tmp_path / "long.mp4", limits=ExportLimits(max_excerpt_s=1.0))


def test_more_boxes_than_limit_refused(clip: Path, tmp_path: Path) -> None:
    limits = ExportLimits(max_boxes=2)
    with pytest.raises(InvalidExport, match="3 boxes over limit 2"):
        masked_still(clip, STILL_S, BOXES, limits=limits)
    with pytest.raises(InvalidExport, match="3 boxes over limit 2"):
        masked_excerpt(clip, 0.0, 1.0, BOXES, tmp_path / "boxes.mp4", limits=limits)


def test_more_stills_than_limit_refused(clip: Path) -> None:
    with pytest.raises(InvalidExport, match="3 stills, allowed 1 to 2"):
        masked_stills(clip, [0.0, 1.0, 2.0], BOXES, limits=ExportLimits(max_stills=2))


def test_not_a_video_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(bytes(range(256)) * 256)
    with pytest.raises(InvalidVideo, match="not a video file"):
        masked_still(path, 0.0, BOXES)
    with pytest.raises(InvalidVideo, match="not a video file"):
        masked_excerpt(path, 0.0, 1.0, BOXES, tmp_path / "excerpt.mp4")
    assert not (tmp_path / "excerpt.mp4").exists()
