"""Labelled CCTV-like scenes for the redaction tests and bench, composited from real pictures and footage that
ship inside registry packages, with the ground truth of every frame.

Sources (fetched once into a cache by their ordinary clients, checked by sha256):
- scikit-image 0.26.0's wheel (PyPI): `lfw_subset.npy` (100 real faces of Labeled Faces in the Wild, 25x25 px),
  `astronaut.png` and `camera.png` (a portrait, the cameraman), `brick.png` (a wall, the tests' background).
- Debian's opencv-doc 4.6.0 (examples/data): `vtest.avi`, real pedestrian CCTV footage (768x576); its temporal
  median is an empty scene, and its walkers, cut out against that median, are the people we paste.
Plates are drawn (EU format, Latvian pattern): no registry package ships a readable one.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CACHE = Path.home() / ".cache" / "safe-society" / "redaction-sources"
SKIMAGE = "scikit-image==0.26.0"
OPENCV_DOC = "opencv-doc=4.6.0+dfsg-12"
_SKIMAGE_FILES = {
    "lfw_subset.npy": "9560ec2f5edfac01973f63a8a99d00053fecd11e21877e18038fbe500f8e872c",
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
    "brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
}
_OPENCV_FILES = {"vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"}
# Face boxes (x, y, width, height) in the portraits, found by eye and by CenterFace at full size.
_PORTRAIT_FACES = {"astronaut.png": (182, 58, 88, 120), "camera.png": (202, 119, 56, 78)}
# Walkers in vtest.avi: (frame, x, y, width, height) of one person alone, found by differencing against the
# median and checked by eye (each a single whole person, no sign or second person in the box).
_WALKERS = (
    (0, 254, 220, 30, 89),
    (60, 616, 234, 34, 107),
    (90, 572, 173, 25, 88),
    (120, 375, 182, 29, 81),
    (120, 509, 215, 31, 82),
    (120, 690, 217, 37, 87),
    (150, 592, 229, 34, 87),
    (180, 498, 224, 34, 88),
    (240, 451, 250, 31, 103),
    (270, 459, 236, 37, 98),
    (360, 529, 196, 40, 91),
    (390, 721, 224, 34, 101),
    (450, 486, 179, 29, 82),
)

# An object counts as masked in a frame when the correlation of its box's fine detail between source and export
# is below this: a plain re-encode keeps it above 0.9 (bench/bench_redaction.py shows it per object).
MASKED_BELOW = 0.3
# The source's fine detail as it shows in the export, in grey levels (the standard deviation of the export's
# high-pass times its correlation with the source's): below one 8-bit step it shows nothing, whatever the
# correlation. Inside a mask what is left is that faint (measured: 0.4-1.0 levels against 11-48 in the source,
# correlated 0.3-0.5 at worst): smooth cells rounded to whole levels and the encoder's block edges where a mask
# meets the picture, which line up with an object's rim now and then. A plain re-encode keeps nearly all of it.
DETAIL_FLOOR = 1.0
# An object is masked in a frame only if every part of it is: its box is judged in parts, rows by columns. The
# whole box's correlation hides a strip left bare (a person's head above a mask that starts at the brow kept
# 0.97-0.99 of its detail while the whole box scored 0.0): a bare share s of a part with detail like the rest
# scores about sqrt(s), so a part fails once about a tenth of it is bare. A person's rows are a head high (a
# walker is about eight heads tall), in three columns (the middle one holds the head): the top quarter of a
# head left bare fails its part, a row of pixels (a twentieth of a head at 160 px) does not (measured on the
# bench, 720p: 6-10 of 20 rows bare failed 42 of 48 frames, up to 0.47; one row of a 220 px walker's 27 kept
# 0.23). A face's parts are its thirds (the eyes, the nose, the mouth; left, centre, right), a plate's its
# quarters along (two of its seven characters each).
PARTS: dict[str, tuple[int, int]] = {"person": (8, 3), "face": (3, 3), "plate": (1, 4)}
# A part is at least this many pixels on a side, so small objects have fewer: under 8 x 8 px the correlation is
# noise (a 40 px walker is five parts of 8 rows, a 16 px face four of 8 x 8).
PART_AT_LEAST = 8
# Parts of the requester are judged where at least this share of the part is free of what is in front of them.
PART_SEEN = 0.4

Kind = Literal["face", "person", "plate"]
Box = tuple[int, int, int, int]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checked(folder: Path, wanted: dict[str, str]) -> bool:
    return all((folder / name).is_file() and _sha256(folder / name) == digest for name, digest in wanted.items())


def skimage_data(cache: Path = CACHE) -> Path:
    """The folder holding scikit-image's sample files, extracted from its wheel (pip download, no install)."""
    folder = cache / "skimage"
    if _checked(folder, _SKIMAGE_FILES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                work,
                SKIMAGE,
            ],
            check=True,
            timeout=600,
        )
        (wheel,) = Path(work).glob("scikit_image-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for name in _SKIMAGE_FILES:
                (folder / name).write_bytes(archive.read(f"skimage/data/{name}"))
    if not _checked(folder, _SKIMAGE_FILES):
        raise RuntimeError(f"{SKIMAGE}'s sample files are not the ones the ground truth was made on")
    return folder


def opencv_data(cache: Path = CACHE) -> Path:
    """The folder holding Debian opencv-doc's pedestrian footage (apt-get download, unpacked, not installed)."""
    folder = cache / "opencv-doc"
    if _checked(folder, _OPENCV_FILES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["apt-get", "download", "-q", OPENCV_DOC], cwd=work, check=True, timeout=900)
        (deb,) = Path(work).glob("opencv-doc_*.deb")
        members = [f"./usr/share/doc/opencv-doc/examples/data/{name}" for name in _OPENCV_FILES]
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True, timeout=300)
        subprocess.run(["tar", "-x", "-C", work, *members], input=tar.stdout, check=True, timeout=300)
        for name in _OPENCV_FILES:
            (Path(work) / members[0].removeprefix("./")).parent.joinpath(name).replace(folder / name)
    if not _checked(folder, _OPENCV_FILES):
        raise RuntimeError(f"{OPENCV_DOC}'s footage is not the one the ground truth was made on")
    return folder


@dataclass(frozen=True)
class Sprite:
    """Pixels to paste (RGB) and their opacity (0..1), at the sprite's own size."""

    rgb: np.ndarray
    alpha: np.ndarray

    def scaled(self, height: int) -> Sprite:
        width = max(1, round(self.rgb.shape[1] * height / self.rgb.shape[0]))
        rgb = Image.fromarray(self.rgb).resize((width, height), Image.Resampling.LANCZOS)
        alpha = Image.fromarray((self.alpha * 255).astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR)
        return Sprite(np.asarray(rgb), np.asarray(alpha, dtype=np.float32) / 255)


def _oval(height: int, width: int) -> np.ndarray:
    """A soft-edged ellipse filling the box: a face cut out without its square corners."""
    mask = Image.new("L", (width * 4, height * 4), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width * 4 - 1, height * 4 - 1), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(width * 0.25)).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(mask, dtype=np.float32) / 255


def lfw_faces(data: Path) -> list[Sprite]:
    """The 100 real faces of scikit-image's LFW subset (grey, 25x25), tinted, cut out as ovals."""
    faces = np.load(data / "lfw_subset.npy")[:100]
    tint = np.array([1.0, 0.86, 0.74], dtype=np.float32)
    return [
        Sprite((np.clip(face[..., None] * tint * 255, 0, 255)).astype(np.uint8), np.maximum(_oval(25, 25), 0.0))
        for face in faces
    ]


def portrait_faces(data: Path) -> list[Sprite]:
    """Larger, sharp faces: the astronaut's and the cameraman's."""
    sprites = []
    for name, (x, y, width, height) in _PORTRAIT_FACES.items():
        rgb = np.asarray(Image.open(data / name).convert("RGB"))[y : y + height, x : x + width]
        sprites.append(Sprite(np.ascontiguousarray(rgb), _oval(height, width)))
    return sprites


def _decoded(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


@functools.cache
def vtest_scene(data: Path) -> tuple[np.ndarray, list[Sprite]]:
    """The empty square (median of the footage) and the walkers cut out against it."""
    # Only the frames needed are kept (all of them would be 1 GB): every 8th for the median, and the walkers'.
    wanted = {index for index, *_ in _WALKERS}
    frames = {n: rgb for n, rgb in enumerate(_decoded(data / "vtest.avi")) if n % 8 == 0 or n in wanted}
    empty = np.median(np.stack([rgb for n, rgb in frames.items() if n % 8 == 0]), axis=0).astype(np.uint8)
    walkers = []
    for index, x, y, width, height in _WALKERS:
        crop = frames[index][y : y + height, x : x + width].astype(np.int16)
        difference = np.abs(crop - empty[y : y + height, x : x + width]).max(axis=2)
        mask = Image.fromarray(((difference > 30) * 255).astype(np.uint8))
        # Closed (max then min) so a coat the colour of the tarmac does not leave holes, then feathered.
        mask = mask.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(3)).filter(ImageFilter.BoxBlur(1))
        walkers.append(Sprite(np.ascontiguousarray(frames[index][y : y + height, x : x + width]), _alpha(mask)))
    return empty, walkers


def _alpha(mask: Image.Image) -> np.ndarray:
    return np.asarray(mask, dtype=np.float32) / 255


def plate(width: int, text: str) -> Sprite:
    """An EU plate (520 x 110 mm): white, black rim and letters, the blue band at the left."""
    scale = 4
    big_w, big_h = width * scale, round(width * 110 / 520) * scale
    image = Image.new("RGB", (big_w, big_h), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, big_w - 1, big_h - 1), outline=(20, 20, 20), width=max(2, big_h // 18))
    draw.rectangle((0, 0, big_w // 11, big_h - 1), fill=(0, 51, 153))
    font = ImageFont.load_default(size=round(big_h * 0.72))
    draw.text((big_w * 0.57, big_h * 0.52), text, fill=(15, 15, 15), font=font, anchor="mm")
    small = image.resize((width, big_h // scale), Image.Resampling.LANCZOS)
    return Sprite(np.asarray(small), np.ones((big_h // scale, width), dtype=np.float32))


@dataclass(frozen=True)
class Actor:
    """One object moving in a straight line from `start` by `velocity` pixels a frame, seen in [first, last)."""

    object_id: str
    kind: Kind
    sprite: Sprite
    first: int
    last: int
    start: tuple[float, float]
    velocity: tuple[float, float] = (0.0, 0.0)
    pauses: tuple[tuple[int, int], ...] = ()  # frame spans [a, b) in which it stands still

    def box(self, frame: int) -> Box:
        moving = frame - self.first - sum(max(0, min(frame, b) - a) for a, b in self.pauses if a < frame)
        x = self.start[0] + self.velocity[0] * moving
        y = self.start[1] + self.velocity[1] * moving
        height, width = self.sprite.alpha.shape
        return round(x), round(y), width, height


@dataclass(frozen=True)
class Truth:
    """Where an object is in one frame (its visible part, clipped to the frame)."""

    object_id: str
    kind: Kind
    box: Box
    size: int  # the object's height in pixels (faces, people) or width (plates), uncut


@dataclass
class Scene:
    width: int
    height: int
    fps: int
    frames: int
    background: np.ndarray
    actors: list[Actor] = field(default_factory=list)
    noise: float = 3.0
    seed: int = 7

    def truth(self, frame: int) -> list[Truth]:
        found = []
        for actor in self.actors:
            if not actor.first <= frame < actor.last:
                continue
            x, y, width, height = actor.box(frame)
            left, top = max(0, x), max(0, y)
            right, bottom = min(self.width, x + width), min(self.height, y + height)
            # Counted only while most of it is in view: a sliver at the edge identifies no one.
            if (right - left) * (bottom - top) >= 0.6 * width * height:
                size = width if actor.kind == "plate" else height
                found.append(Truth(actor.object_id, actor.kind, (left, top, right - left, bottom - top), size))
        return found

    def in_front(self, frame: int, object_id: str) -> list[Box]:
        """The boxes (clipped to the frame) of the actors pasted after `object_id` in `frame`: what hides it."""
        order = [actor.object_id for actor in self.actors].index(object_id)
        boxes = []
        for actor in self.actors[order + 1 :]:
            if actor.first <= frame < actor.last:
                x, y, width, height = actor.box(frame)
                left, top = max(0, x), max(0, y)
                right, bottom = min(self.width, x + width), min(self.height, y + height)
                if left < right and top < bottom:
                    boxes.append((left, top, right - left, bottom - top))
        return boxes

    def render(self) -> Iterator[np.ndarray]:
        """Each frame as RGB: the background, sensor noise, the actors pasted in order (later ones in front)."""
        rng = np.random.default_rng(self.seed)
        base = self.background.astype(np.float32)
        for frame in range(self.frames):
            canvas = base + rng.normal(0.0, self.noise, base.shape).astype(np.float32)
            for actor in self.actors:
                if actor.first <= frame < actor.last:
                    _paste(canvas, actor.sprite, actor.box(frame))
            yield np.clip(canvas, 0, 255).astype(np.uint8)

    def write(self, path: Path, crf: int = 18) -> list[list[Truth]]:
        """Encode as an H.264 MP4 as a camera would (one keyframe a second); return each frame's truth."""
        with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
            stream = output.add_stream("libx264", rate=Fraction(self.fps), options={"crf": str(crf), "preset": "fast"})
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.codec_context.gop_size = self.fps
            for rgb in self.render():
                output.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            output.mux(stream.encode(None))
        return [self.truth(frame) for frame in range(self.frames)]


def _paste(canvas: np.ndarray, sprite: Sprite, box: Box) -> None:
    x, y, width, height = box
    left, top = max(0, x), max(0, y)
    right, bottom = min(canvas.shape[1], x + width), min(canvas.shape[0], y + height)
    if left >= right or top >= bottom:
        return
    rgb = sprite.rgb[top - y : bottom - y, left - x : right - x].astype(np.float32)
    alpha = sprite.alpha[top - y : bottom - y, left - x : right - x, None]
    region = canvas[top:bottom, left:right]
    region[:] = region * (1 - alpha) + rgb * alpha


def fitted(background: np.ndarray, width: int, height: int) -> np.ndarray:
    """The background scaled to cover `width` x `height` and cropped to it (centre)."""
    scale = max(width / background.shape[1], height / background.shape[0])
    size = (round(background.shape[1] * scale), round(background.shape[0] * scale))
    image = Image.fromarray(background).resize(size, Image.Resampling.BICUBIC)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return np.asarray(image.crop((left, top, left + width, top + height)))


def to_png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def square(width: int, height: int, fps: int, seconds: float, cache: Path = CACHE) -> Scene:
    """The bench's scene: vtest's square at `width` x `height`, with faces of 16 to 80 px, walkers of 40 to
    300 px (one stops for two seconds) and plates of 40 to 120 px wide crossing it at a walker's or car's pace."""
    pictures, footage = skimage_data(cache), opencv_data(cache)
    empty, walkers = vtest_scene(footage)
    frames = round(fps * seconds)
    scene = Scene(width, height, fps, frames, fitted(empty, width, height))
    k = width / 1280  # sizes are given for 720p and scaled with the frame
    small, large = lfw_faces(pictures), portrait_faces(pictures)
    face_sizes = (16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 80)
    for number, size in enumerate(face_sizes):
        sprite = (large[number % 2] if size > 32 else small[number * 7]).scaled(round(size * k))
        row = height * (0.12 + 0.07 * number)
        speed = (1.5 + number % 4) * k * (-1 if number % 2 else 1)
        start_x = width * (0.1 if speed > 0 else 0.85)
        first = (number * 7) % max(1, frames // 4)
        scene.actors.append(Actor(f"face-{size}", "face", sprite, first, frames, (start_x, row), (speed, 0.3 * k)))
    person_sizes = (40, 56, 72, 96, 128, 160, 220, 300)
    for number, size in enumerate(person_sizes):
        sprite = walkers[number % len(walkers)].scaled(round(size * k))
        # One pace each way, set off apart: walkers the same way never overlap, those the other way pass them.
        speed = (1.2 if number % 2 else -1.6) * k
        start_x = width * (0.02 + 0.22 * (number // 2) if speed > 0 else 0.95 - 0.22 * (number // 2))
        ground = height * 0.35 + (height * 0.6 - size * k) * number / len(person_sizes)
        pauses = ((frames // 3, frames // 3 + 2 * fps),) if size == 72 else ()
        scene.actors.append(
            Actor(f"person-{size}", "person", sprite, 0, frames, (start_x, ground), (speed, 0.0), pauses)
        )
    for number, (size, text) in enumerate(((40, "KA-1234"), (64, "LB-5071"), (90, "MN-28"), (120, "HX-9163"))):
        sprite = plate(round(size * k), text)
        speed = (3 + number) * k * (1 if number % 2 == 0 else -1)
        start_x = width * (0.05 if speed > 0 else 0.85)
        scene.actors.append(
            Actor(f"plate-{size}", "plate", sprite, 0, frames, (start_x, height * (0.55 + 0.1 * number)), (speed, 0))
        )
    return scene


def faces_crossing(width: int, height: int, fps: int, frames: int, sizes: Sequence[int], cache: Path = CACHE) -> Scene:
    """The tests' scene: portrait faces of the given heights crossing a brick wall, left to right, one row each."""
    pictures = skimage_data(cache)
    wall = np.asarray(Image.open(pictures / "brick.png").convert("RGB"))
    scene = Scene(width, height, fps, frames, fitted(wall, width, height))
    large = portrait_faces(pictures)
    for number, size in enumerate(sizes):
        sprite = large[number % len(large)].scaled(size)
        speed = (width - sprite.alpha.shape[1]) / max(1, frames - 1)
        row = (number + 0.5) * height / len(sizes) - size / 2
        scene.actors.append(Actor(f"face-{number}", "face", sprite, 0, frames, (0.0, row), (speed, 0.0)))
    return scene


def _high_pass(source: np.ndarray, export: np.ndarray, truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    """The box's fine detail (luma less its Gaussian blur) in the source and in the export."""
    x, y, w, h = truth.box
    a, b = source[y : y + h, x : x + w], export[y : y + h, x : x + w]
    sigma = max(1.0, truth.size / 24)
    return a - cv2.GaussianBlur(a, (0, 0), sigma), b - cv2.GaussianBlur(b, (0, 0), sigma)


def detail_kept(source: np.ndarray, export: np.ndarray, truth: Truth, where: np.ndarray | None = None) -> float:
    """Correlation of the box's high-pass detail in the source and in the export (1: all of it survives); with
    `where` (a boolean array the box's shape), over those pixels of the box only."""
    ha, hb = _high_pass(source, export, truth)
    if where is not None:
        ha, hb = ha[where], hb[where]
    return _correlation(ha, hb)


def parts(truth: Truth) -> list[tuple[slice, slice]]:
    """The box cut into the parts judged one by one (rows, columns of the box): `PARTS[kind]` rows by columns,
    fewer where a part would be under `PART_AT_LEAST` px on a side."""
    _, _, w, h = truth.box
    rows, columns = PARTS[truth.kind]
    rows, columns = max(1, min(rows, h // PART_AT_LEAST)), max(1, min(columns, w // PART_AT_LEAST))
    row_edges = [round(h * i / rows) for i in range(rows + 1)]
    column_edges = [round(w * i / columns) for i in range(columns + 1)]
    return [
        (slice(top, bottom), slice(left, right))
        for top, bottom in itertools.pairwise(row_edges)
        for left, right in itertools.pairwise(column_edges)
    ]


def parts_kept(source: np.ndarray, export: np.ndarray, truth: Truth, where: np.ndarray | None = None) -> list[float]:
    """`detail_kept` of each of the box's `parts` that has detail in the source (the high-pass taken over the
    whole box; a flat part shows no one, masked or not); with `where`, over its pixels only, and only the parts
    of which at least `PART_SEEN` lies in it."""
    ha, hb = _high_pass(source, export, truth)
    kept = []
    for rows, columns in parts(truth):
        inside = np.ones(ha[rows, columns].shape, dtype=bool) if where is None else where[rows, columns]
        if inside.mean() >= PART_SEEN and float(ha[rows, columns][inside].std()) >= DETAIL_FLOOR:
            kept.append(_correlation(ha[rows, columns][inside], hb[rows, columns][inside]))
    return kept


def _correlation(ha: np.ndarray, hb: np.ndarray) -> float:
    ha, hb = ha - ha.mean(), hb - hb.mean()
    if float(ha.std()) < DETAIL_FLOOR or float(hb.std()) < DETAIL_FLOOR:
        return 0.0  # no detail in one of them to keep (a flat box scored 0.29 by float rounding alone before)
    correlation = float((ha * hb).sum() / np.sqrt((ha * ha).sum() * (hb * hb).sum()))
    return correlation if correlation * float(hb.std()) >= DETAIL_FLOOR else 0.0
