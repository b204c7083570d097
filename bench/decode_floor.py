"""The decode-only floor of a clip's stills: what no way of making them can undercut."""

from __future__ import annotations

from pathlib import Path

import av


def decode_strip_keyframes(path: Path, stills: int) -> int:
    """Open, then seek to each of `stills` evenly spaced times and decode only the keyframe found there (each
    once), converting nothing; the number of keyframes decoded."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        start = stream.start_time or 0
        # A fragmented file may declare no track duration, only the container's (in microseconds).
        span = stream.duration or int((container.duration or 0) / 1e6 / stream.time_base)
        decoded: set[int] = set()
        for index in range(stills):
            if index:
                container.seek(start + span * index // stills, stream=stream)
            packet = next(p for p in container.demux(stream) if p.size and p.is_keyframe)
            if (packet.pts or 0) in decoded:
                continue
            decoded.add(packet.pts or 0)
            if not stream.codec_context.decode(packet):
                stream.codec_context.decode(None)  # a decoder with B-frame delay gives the frame on flush
        return len(decoded)
