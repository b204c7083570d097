"""The detectors, each chosen by measurement on the labelled scenes (bench/bench_redaction.py):
faces by CenterFace (ONNX Runtime), people by OpenCV's Daimler HOG (trained on 48x96 pedestrians: it finds
the small, distant ones the default 64x128 HOG misses), number plates by PP-OCRv3's text detector (ONNX)
together with OpenCV's plate cascade, and whatever moves by differencing against the excerpt's median.

Only the redaction function imports this module: numpy, OpenCV and ONNX Runtime are in its image alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx.tools.update_model_dims import update_inputs_outputs_dims

from chalicelib.media.redaction.tracking import Box
from redaction.models import CENTERFACE, TEXT_DETECTOR, checked

Found = tuple[Box, float]  # a box and its score


def _session(model: onnx.ModelProto, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _input_shape(width: int, height: int, scale: float, multiple: int = 32) -> tuple[int, int]:
    return (
        max(multiple, round(width * scale / multiple) * multiple),
        max(multiple, round(height * scale / multiple) * multiple),
    )


def nms(found: list[Found], overlap: float = 0.3) -> list[Found]:
    """Keep the best of boxes that cover each other by more than `overlap` (intersection over union)."""
    kept: list[Found] = []
    for box, score in sorted(found, key=lambda f: -f[1]):
        if all(_iou(box, other) < overlap for other, _ in kept):
            kept.append((box, score))
    return kept


def _iou(a: Box, b: Box) -> float:
    inter = a.overlap(b) * a.width * a.height
    return inter / (a.width * a.height + b.width * b.height - inter)


class FaceDetector:
    """CenterFace: a heat map of face centres with sizes, on a frame scaled by `scale` (1.5 finds 16 px faces)."""

    def __init__(self, path: Path | None = None, threads: int = 2) -> None:
        model = onnx.load(str(path or checked(CENTERFACE)))
        # The file fixes its input at 32x32 and lists its weights among the inputs: make height and width free
        # and the weights constants, so one session takes any frame size and can fold them.
        weights = {initializer.name for initializer in model.graph.initializer}
        inputs = [value for value in model.graph.input if value.name not in weights]
        del model.graph.input[:]
        model.graph.input.extend(inputs)
        outputs = {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"], "539": ["B", 2, "h", "w"]}
        outputs["540"] = ["B", 10, "h", "w"]
        model = update_inputs_outputs_dims(model, {"input.1": ["B", 3, "H", "W"]}, outputs)
        self._session = _session(model, threads)

    def detect(self, rgb: np.ndarray, scale: float = 1.0, threshold: float = 0.35) -> list[Found]:
        height, width = rgb.shape[:2]
        size = _input_shape(width, height, scale)
        image = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR) if size != (width, height) else rgb
        blob = np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)
        heat, sizes, offsets = self._session.run(["537", "538", "539"], {"input.1": blob})
        ys, xs = np.nonzero(heat[0, 0] > threshold)
        box_h, box_w = np.exp(sizes[0, 0, ys, xs]) * 4, np.exp(sizes[0, 1, ys, xs]) * 4
        cx, cy = (xs + offsets[0, 1, ys, xs] + 0.5) * 4, (ys + offsets[0, 0, ys, xs] + 0.5) * 4
        fx, fy = width / size[0], height / size[1]
        found = [
            (Box(float((x - w / 2) * fx), float((y - h / 2) * fy), float(w * fx), float(h * fy)), float(s))
            for x, y, w, h, s in zip(cx, cy, box_w, box_h, heat[0, 0, ys, xs], strict=True)
        ]
        return nms(found)


class PersonDetector:
    """OpenCV's HOG with the Daimler pedestrian model (48x96 window)."""

    def __init__(self, threshold: float = 0.5) -> None:
        self._hog = cv2.HOGDescriptor((48, 96), (16, 16), (8, 8), (8, 8), 9)
        daimler = cv2.HOGDescriptor_getDaimlerPeopleDetector()  # type: ignore[attr-defined]  # absent from the stubs
        self._hog.setSVMDetector(daimler)
        self._threshold = threshold

    def detect(self, rgb: np.ndarray) -> list[Found]:
        boxes, weights = self._hog.detectMultiScale(rgb, hitThreshold=self._threshold, winStride=(8, 8), scale=1.05)
        found = [
            (Box(float(x), float(y), float(w), float(h)), float(s))
            for (x, y, w, h), s in zip(boxes, np.ravel(weights), strict=True)
        ]
        kept = nms(found, 0.4)
        # A window round a person found and twice as wide is the same person at a coarser scale, not a second.
        return [
            (box, score)
            for box, score in kept
            if not any(
                other is not box
                and other.overlap(box) >= 0.8
                and box.width * box.height >= 2.5 * other.width * other.height
                for other, _ in kept
            )
        ]


# An EU plate is 520 x 110 mm: a run of text found on one is widened to the plate around it.
_PLATE_ASPECT = 520 / 110
# The shortest plate text ("MN-28") is a line about three times as wide as high.
_PLATE_TEXT_ASPECT = 2.5
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255


class PlateDetector:
    """Text regions (PP-OCRv3's DB detector) widened to a plate's shape, and OpenCV's plate cascade."""

    def __init__(self, path: Path | None = None, threads: int = 2, threshold: float = 0.3) -> None:
        self._session = _session(onnx.load(str(path or checked(TEXT_DETECTOR))), threads)
        cascades = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]  # absent from the stubs
        self._cascade = cv2.CascadeClassifier(str(cascades / "haarcascade_russian_plate_number.xml"))
        self._threshold = threshold

    def detect(self, rgb: np.ndarray) -> list[Found]:
        height, width = rgb.shape[:2]
        size = _input_shape(width, height, 1.0)
        image = cv2.resize(rgb, size) if size != (width, height) else rgb
        blob = ((image.astype(np.float32) - _IMAGENET_MEAN) / _IMAGENET_STD).transpose(2, 0, 1)[None]
        (probability,) = self._session.run(None, {"x": np.ascontiguousarray(blob)})
        text = (probability[0, 0] > self._threshold).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(text)
        fx, fy = width / size[0], height / size[1]
        found: list[Found] = []
        for x, y, w, h, area in stats[1:count]:
            if area < 4 or w < _PLATE_TEXT_ASPECT * h:
                continue  # a speck, or not a line of several characters (eyes and brows are found as text too)
            # DB shrinks each text region by area * 1.5 / perimeter: grow it back (a little more, to be safe).
            grow = area * 1.8 / (2 * (w + h))
            box = Box((x - grow) * fx, (y - grow) * fy, (w + 2 * grow) * fx, (h + 2 * grow) * fy)
            found.append((_plate_around(box), 0.5))
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        for x, y, w, h in self._cascade.detectMultiScale(grey, 1.1, 3, minSize=(20, 6)):
            found.append((Box(float(x), float(y), float(w), float(h)), 0.5))
        return nms(found, 0.3)


def _plate_around(text: Box) -> Box:
    height = text.height * 1.3
    width = max(text.width * 1.2, height * _PLATE_ASPECT)
    x, y = text.centre
    return Box(x - width / 2, y - height / 2, width, height)


@dataclass(frozen=True)
class MotionSettings:
    scale: int = 4  # differencing on frames this many times smaller: blobs, not detail, are wanted
    threshold: int = 25  # grey levels from the background that count as a change (noise is ~3)
    min_area: int = 4  # pixels of the small frame: a 16 px face is 16 of them


class MotionDetector:
    """What differs from the excerpt's background (the per-pixel median of frames spread over it)."""

    def __init__(self, samples: Sequence[np.ndarray], settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        small = [self._small(rgb) for rgb in samples]
        self._background = np.median(np.stack(small), axis=0).astype(np.int16)

    def _small(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        scale = self.settings.scale
        return cv2.resize(rgb, (width // scale, height // scale), interpolation=cv2.INTER_AREA)

    def detect(self, rgb: np.ndarray) -> list[Found]:
        change = np.abs(self._small(rgb).astype(np.int16) - self._background).max(axis=2)
        mask = (change > self.settings.threshold).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        # Joined across small gaps, so a walker's legs and body (or a coat the colour of the road) are one blob.
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        scale = self.settings.scale
        return [
            (Box(float(x * scale), float(y * scale), float(w * scale), float(h * scale)), 1.0)
            for x, y, w, h, area in stats[1:count]
            if area >= self.settings.min_area
        ]
