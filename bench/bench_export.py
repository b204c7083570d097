"""Time the subject-access export on a 10 s 720p H.264 clip: masked excerpt and still vs a plain re-encode.

Run: `PYTHONPATH=. python bench/bench_export.py`. Baseline, measured in the same run: decoding the same
10 s and re-encoding it with the excerpt's encoder settings, no masking. The masked rows add the probe,
the copy of each decoded frame (make_writable) and pixelate+blur of three boxes in all three planes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av

# `python bench/bench_export.py` puts bench/ on the path, not the repo root the packages live in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib.media.masking import _GOP_S, _X264_OPTIONS, Box, masked_excerpt, masked_still  # noqa: E402
from gateway.clipmaker import make_clip  # noqa: E402

RUNS = 3
SECONDS, WIDTH, HEIGHT, FPS = 10, 1280, 720, 25
# A face, a standing person and a group, in 720p pixels.
BOXES = (Box(100, 80, 120, 160), Box(540, 200, 200, 400), Box(900, 300, 300, 200))


def median_ms_interleaved(actions: dict[str, Callable[[], object]], runs: int = RUNS) -> dict[str, float]:
    """Run every action once per round, `runs` rounds, and return each one's median wall time in ms.

    Round-robin rather than one method's runs back to back, so drift on a shared machine hits all alike.
    """
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            started = time.perf_counter()
            action()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def decode_only(path: Path) -> None:
    """Decode every frame: the floor under any re-encode."""
    with av.open(str(path)) as container:
        for _ in container.decode(video=0):
            pass


def plain_reencode(path: Path, destination: Path) -> None:
    """Baseline: decode and re-encode every frame with the excerpt's encoder settings, no masking."""
    gop = round(_GOP_S * FPS)
    options = {**_X264_OPTIONS, "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
    with (
        av.open(str(path)) as source,
        av.open(str(destination), mode="w", format="mp4", options={"movflags": "+faststart"}) as output,
    ):
        stream = source.streams.video[0]
        encoder = output.add_stream("libx264", rate=FPS, options=options)
        encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        encoder.codec_context.gop_size = gop
        encoder.codec_context.time_base = stream.time_base
        for frame in source.decode(stream):
            frame.pict_type = av.video.frame.PictureType.NONE
            output.mux(encoder.encode(frame))
        output.mux(encoder.encode(None))


def main() -> None:
    """Make the clip, time each method, print a markdown table."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        out = Path(tmp) / "out.mp4"
        make_clip(clip, seconds=SECONDS, width=WIDTH, height=HEIGHT, fps=FPS, layout="faststart", label="bench")
        size_kb = clip.stat().st_size / 1024

        baseline_name = "plain re-encode, 10 s, no masking (baseline)"
        rows = median_ms_interleaved(
            {
                baseline_name: lambda: plain_reencode(clip, out),
                "decode only (no encode)": lambda: decode_only(clip),
                "`masked_excerpt` 0-10 s, no boxes": lambda: masked_excerpt(clip, 0, SECONDS, [], out),
                "`masked_excerpt` 0-10 s, 3 boxes": lambda: masked_excerpt(clip, 0, SECONDS, BOXES, out),
                "`masked_still` at 4.0 s (a keyframe), 3 boxes": lambda: masked_still(clip, 4.0, BOXES),
                "`masked_still` at 5.96 s (end of a 2 s GOP), 3 boxes": lambda: masked_still(clip, 5.96, BOXES),
            }
        )
        baseline = rows[baseline_name]

    print(f"{SECONDS} s {WIDTH}x{HEIGHT} {FPS} fps H.264 faststart clip, {size_kb:.0f} KiB")
    print(
        f"encoder: libx264 {_X264_OPTIONS}, keyframe every {_GOP_S} s; boxes (x, y, w, h): "
        f"{[(b.x, b.y, b.width, b.height) for b in BOXES]}"
    )
    print(f"median of {RUNS} interleaved runs each; ratio = method / baseline\n")
    print("| method | median ms | ratio vs baseline |")
    print("|---|---:|---:|")
    for method, ms in rows.items():
        print(f"| {method} | {ms:.1f} | {ms / baseline:.3f} |")


if __name__ == "__main__":
    main()
