"""The whole ingest pipeline on the local stack against bare presigned PUTs of the same files to the same moto.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_ingest.py [--sizes-mb 2,20,200,500] [--rounds 3]`.

Starts the local archive (no simulator) and, per size, takes a 60 s 720p H.264 clip of that size as Debian's
ffmpeg writes it (bench/corpus.py: x264's defaults at the bitrate that gives the size, one keyframe every 10 s,
moov at the end; made once, kept in bench/.corpus/). Each round sends, in turn:
- the baseline: a bare presigned PUT of the clip to a scratch bucket of the same moto server (no notification,
  no API, one PUT whatever the size), timed from its start to S3's answer;
- the plain pipeline, as the gateway agent sends a clip: register (hashed beforehand, as the agent hashes
  when it spools), the PUT (in parts over 100 MB, their digests taken at sending as the agent does), then
  polling until `indexed`;
- the sealed pipeline: the same with the clip sealed to the site's key beforehand (the agent seals when it
  spools).
Before the first size, one clip goes through each path untimed (the worker's cold start). Medians over the
rounds. "rate vs bare" is clips per second one after the other against bare PUTs (≥ 0.5
wanted); "PUT→indexed" is from the upload's last byte answered to `indexed` (≤ 2 s wanted). The worker's
peak RSS is reset (/proc/PID/clear_refs) before each size and read after it.

The sealed path has a floor of its own, measured in the same round: after the upload, ingest must read the
age file back from S3 (a bare GET of the clip's size), open it (timed here on an age file of the same clip,
sealed to a key made for the bench) and store the opened clip, one more PUT of its size (the bare PUT's time).
Opening can overlap both (ingest opens the file as it streams in; a design that sent the plaintext in parts
as it opened would overlap the PUT too, c9ebee1, reverted when it measured no faster here), but moto serves
the GET and the PUT in turn, one process: the floor is the larger of GET + PUT and the opening. "vs floor" is
PUT→indexed against it: at 500 MB, where moto takes seconds to receive a PUT, it is what puts the sealed path
over 2 s locally whatever ingest does.

Each path's own floor, also measured in the same round, is what no design of the pipeline could undercut from
register to indexed: one API request (a clip's status read, through the same API and authorizer as the
registration), the bare PUT, and then the larger of what must follow one after the other: reading the clip
back (the bare GET), decoding the keyframes its stills show (bench/decode_floor.py) and, sealed, the
opening and the bare PUT of the plaintext. S3's notification and the queue add nothing to it (they are not
free). "rate at floor" is the bare PUT against it: the best "rate vs bare" any pipeline could reach here;
"vs floor" the pipeline's register→indexed against it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyrage
from pyrage import x25519

from bench.corpus import corpus, sized_clip
from bench.decode_floor import decode_strip_keyframes
from bench.timing import timed
from gateway.uplink import put_clip
from local.api_client import Session
from local.aws import AwsEndpoint
from local.cost_counting import Gateway
from local.stack import LocalArchive, LocalOptions

CLIP_SECONDS = 60
STILLS = 4  # ingest's strip: the poster and three more (chalicelib/media/stills.py)
SCRATCH_BUCKET = "bench-bare-puts"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak resident set size to the current


def bare_put_and_get(s3: Any, path: Path, number: int) -> tuple[float, float]:
    """Seconds of a bare presigned PUT of the file, and of a bare GET of it back read to its end."""
    size = path.stat().st_size
    key = f"bare/{number}"
    # An explicit Content-Type, as the archive's tickets have: urllib would label the body a form, which moto parses.
    params = {"Bucket": SCRATCH_BUCKET, "Key": key, "ContentLength": size, "ContentType": "video/mp4"}
    url = s3.generate_presigned_url("put_object", Params=params, ExpiresIn=600)
    headers = {"Content-Length": str(size), "Content-Type": "video/mp4"}
    started = time.perf_counter()
    put_clip({"url": url, "method": "PUT", "headers": headers}, path)
    put_s = time.perf_counter() - started
    url = s3.generate_presigned_url("get_object", Params={"Bucket": SCRATCH_BUCKET, "Key": key}, ExpiresIn=600)
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as answer:  # noqa: S310 - a URL signed here
        while answer.read(1 << 20):
            pass
    get_s = time.perf_counter() - started
    s3.delete_object(Bucket=SCRATCH_BUCKET, Key=key)  # moto keeps every byte: no 500 MB left behind
    return put_s, get_s


def age_open(clip: Path, work: Path) -> float:
    """Seconds to open an age file of `clip` (X25519, as the site keys are): the sealed path's own work."""
    identity = x25519.Identity.generate()
    sealed, opened = work / "floor.age", work / "floor.mp4"
    pyrage.encrypt_file(str(clip), str(sealed), [identity.to_public()])
    started = time.perf_counter()
    pyrage.decrypt_file(str(sealed), str(opened), [identity])
    elapsed = time.perf_counter() - started
    sealed.unlink()
    opened.unlink()
    return elapsed


def wait_indexed(session: Session, clip_ids: list[str], timeout_s: float = 600, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    for clip_id in clip_ids:
        while session.get(f"/gateway/clips/{clip_id}").body["status"] not in ("indexed", "quarantined"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"clip {clip_id} was not indexed in time")
            time.sleep(poll_s)
        if session.get(f"/gateway/clips/{clip_id}").body["status"] != "indexed":
            raise RuntimeError(f"clip {clip_id} was quarantined")


def pipeline(gateway: Gateway, clip: Path, upload: Path, start: datetime) -> tuple[float, float]:
    """(register→indexed, PUT→indexed) seconds for one clip."""
    began = time.perf_counter()
    clip_id = gateway.send(clip, start, CLIP_SECONDS, upload)
    uploaded = time.perf_counter()
    wait_indexed(gateway.session, [clip_id], poll_s=0.02)
    done = time.perf_counter()
    return done - began, done - uploaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", default="2,20,200,500", help="clip sizes; over 100 MB goes in parts")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    sizes = [float(size) for size in arguments.sizes_mb.split(",")]
    with (
        tempfile.TemporaryDirectory() as work,
        LocalArchive(LocalOptions(workdir=Path(work) / "run", simulator=False, retention_every_s=3600)) as archive,
    ):
        info = archive.info
        assert info is not None
        s3 = AwsEndpoint(info.aws_endpoint).client("s3")
        s3.create_bucket(Bucket=SCRATCH_BUCKET, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
        plain, sealed = Gateway(info, False, Path(work)), Gateway(info, True, Path(work))
        worker = info.pids["jobs"]
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        rows = []
        clips = corpus(clips=tuple(sized_clip(size, CLIP_SECONDS) for size in sizes))
        # Untimed: the worker's first clip imports PyAV and Pillow, a cold start (timed by bench_import).
        first = next(iter(clips.values()))
        clip_ids = []
        for gateway in (plain, sealed):
            start -= timedelta(seconds=CLIP_SECONDS)
            clip_ids.append(gateway.send(first, start, CLIP_SECONDS, gateway.sealed(first)))
            wait_indexed(gateway.session, clip_ids[-1:], poll_s=0.02)
        status_read = f"/gateway/clips/{clip_ids[0]}"  # the floor's API request
        for clip in clips.values():
            plain.sealed(clip)
            age_file = sealed.sealed(clip)
            reset_peak_rss(worker)
            bare: list[float] = []
            floors: dict[str, list[float]] = {"plain": [], "sealed": [], "sealed after PUT": []}
            runs: dict[str, list[tuple[float, float]]] = {"plain": [], "sealed": []}
            for number in range(arguments.rounds):
                put_s, get_s = bare_put_and_get(s3, clip, number)
                request_s = timed(plain.session.get, status_read)
                decode_s = timed(decode_strip_keyframes, clip, STILLS)
                open_s = age_open(clip, Path(work))
                bare.append(put_s)
                floors["plain"].append(request_s + put_s + max(get_s, decode_s))
                floors["sealed after PUT"].append(max(get_s + put_s, open_s))
                floors["sealed"].append(request_s + put_s + max(get_s + put_s, open_s, decode_s))
                for name, gateway, upload in (("plain", plain, clip), ("sealed", sealed, age_file)):
                    start -= timedelta(seconds=CLIP_SECONDS)
                    runs[name].append(pipeline(gateway, clip, upload, start))
            medians = {name: statistics.median(values) for name, values in floors.items()}
            rows.append((clip.stat().st_size / 1e6, statistics.median(bare), medians, runs, peak_rss_mb(worker)))
        print(f"{arguments.rounds} rounds, medians; a 60 s 720p H.264 clip of each size by Debian's ffmpeg")  # noqa: T201
        print(  # noqa: T201
            "| clip MB | path | bare PUT s (baseline) | register→indexed s | rate vs bare | floor s | rate at floor "
            "| vs floor | PUT→indexed s | sealed floor after PUT: max(GET + PUT, open) s | vs it | sealed/plain "
            "| worker peak RSS MB |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")  # noqa: T201
        for megabytes, bare_s, floor_s, runs, rss in rows:
            plain_s = statistics.median(total for total, _ in runs["plain"])
            for name, timings in runs.items():
                total = statistics.median(t for t, _ in timings)
                after_put = statistics.median(a for _, a in timings)
                is_sealed = name == "sealed"
                after_put_floor = floor_s["sealed after PUT"]
                against_floor = f"{after_put_floor:.3f} | {after_put / after_put_floor:.2f}×" if is_sealed else "— | —"
                versus = f"{total / plain_s:.2f}×" if is_sealed else "—"
                print(  # noqa: T201
                    f"| {megabytes:.1f} | {name} | {bare_s:.3f} | {total:.3f} | {bare_s / total:.2f}× "
                    f"| {floor_s[name]:.3f} | {bare_s / floor_s[name]:.2f}× | {total / floor_s[name]:.2f}× "
                    f"| {after_put:.3f} | {against_floor} | {versus} | {rss:.0f} |"
                )


if __name__ == "__main__":
    main()
