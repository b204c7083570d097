"""Clips as Debian's ffmpeg writes them with its defaults, the corpus the ingest benchmarks measure against.

`libx264`/`libx265` at their default settings put one keyframe every 250 frames (10 s at 25 fps) and use
B-frames: a 10 s clip has a single keyframe, the hard case for stills. Each layout an NVR may write is there:
moov at the end (ffmpeg's default), faststart, fragmented. Encoding takes minutes on two cores, so the clips
are kept in `bench/.corpus/` (named by their command, remade when it changes).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / ".corpus"


@dataclass(frozen=True)
class CorpusClip:
    name: str
    source: str  # the lavfi source: testsrc2 moves everywhere, so every frame costs a real decode
    seconds: int
    codec_args: tuple[str, ...]
    movflags: str = ""  # "" is ffmpeg's default: moov after the media data
    remux_of: str | None = None  # made from another clip by stream copy, the bitstream unchanged

    def command(self, ffmpeg: str, out: Path, clips: dict[str, Path]) -> list[str]:
        flags = ["-movflags", self.movflags] if self.movflags else []
        if self.remux_of is not None:
            return [ffmpeg, "-v", "error", "-y", "-i", str(clips[self.remux_of]), "-c", "copy", *flags, str(out)]
        return [
            ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", self.source, "-t", str(self.seconds),
            *self.codec_args, "-pix_fmt", "yuv420p", *flags, str(out),
        ]  # fmt: skip


H264 = ("-c:v", "libx264")
CLIPS = (
    CorpusClip("720p H.264 10 s, moov at end", "testsrc2=size=1280x720:rate=25", 10, H264),
    CorpusClip(
        "720p H.264 10 s, faststart", "", 10, (), movflags="+faststart", remux_of="720p H.264 10 s, moov at end"
    ),
    CorpusClip(
        "720p H.264 10 s, fragmented",
        "",
        10,
        (),
        movflags="frag_keyframe+empty_moov+default_base_moof",
        remux_of="720p H.264 10 s, moov at end",
    ),
    CorpusClip(
        "1080p HEVC 10 s",
        "testsrc2=size=1920x1080:rate=25",
        10,
        ("-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"),
    ),
    CorpusClip("1080p H.264 60 s", "testsrc2=size=1920x1080:rate=25", 60, H264),
)


# x264 at its defaults cannot spend more than ~10 Mbps on testsrc2 at 720p (it compresses too well): above this,
# noise makes every bit needed, and the ultrafast preset keeps the encode of a 500 MB clip to seconds, not minutes.
_NOISE_ABOVE_MBPS = 8.0


def sized_clip(megabytes: float, seconds: int) -> CorpusClip:
    """A 720p H.264 clip of `seconds` and about `megabytes` (within ~10 %): x264's defaults (one keyframe every
    10 s, B-frames, moov at the end) at the bitrate that gives the size."""
    mbps = megabytes * 8 / seconds
    source, preset = "testsrc2=size=1280x720:rate=25", tuple[str, ...]()
    if mbps > _NOISE_ABOVE_MBPS:
        source, preset = f"{source},noise=alls=40:allf=t", ("-preset", "ultrafast")
    rate = f"{mbps * 1000:.0f}k"
    # -maxrate/-bufsize hold the average to the target: plain ABR overshoots short clips.
    args = (*H264, *preset, "-b:v", rate, "-maxrate", rate, "-bufsize", rate)
    return CorpusClip(f"720p H.264 {seconds} s, {megabytes:g} MB", source, seconds, args)


def corpus(names: tuple[str, ...] | None = None, clips: tuple[CorpusClip, ...] = CLIPS) -> dict[str, Path]:
    """The corpus' clips (or those named, of `clips`), made by Debian's ffmpeg on first use."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("the corpus is made by Debian's ffmpeg: apt-get install -y --no-install-recommends ffmpeg")
    CORPUS_DIR.mkdir(exist_ok=True)
    made: dict[str, Path] = {}
    wanted = {clip.name for clip in clips if names is None or clip.name in names}
    wanted |= {clip.remux_of for clip in clips if clip.name in wanted and clip.remux_of}
    for clip in clips:  # sources before their remuxes
        if clip.name not in wanted:
            continue
        # Named by the command (a remux by its source's name, itself such a hash), wherever the corpus lives.
        sources = {name: Path(source.name) for name, source in made.items()}
        key = hashlib.sha256(repr(clip.command("ffmpeg", Path("out"), sources)).encode()).hexdigest()[:12]
        path = CORPUS_DIR / f"{key}.mp4"
        if not path.exists():
            partial = path.with_suffix(".partial.mp4")
            subprocess.run(clip.command(ffmpeg, partial, made), check=True)
            partial.rename(path)
        made[clip.name] = path
    return made
