"""What makes an uploaded clip acceptable: the bytes registered, and a video as long as registered."""

from __future__ import annotations

from chalicelib.domain.clips import Clip, VideoFacts


def upload_problem(clip: Clip, stored_size: int, stored_sha256: str) -> str | None:
    """Why the stored bytes are not the registered clip, or None."""
    if stored_size != clip.size:
        return f"size {stored_size} bytes differs from the registered {clip.size}"
    if stored_sha256 != clip.sha256:
        return f"sha256 {stored_sha256} differs from the registered {clip.sha256}"
    return None


def sealed_problem(clip: Clip, stored_size: int, stored_sha256: str) -> str | None:
    """Why a sealed upload is not the sealed file the gateway registered, or None."""
    if clip.sealed is None:
        return "no sealed upload was registered"
    if stored_size != clip.sealed.size or stored_sha256 != clip.sealed.sha256:
        return (
            f"{stored_size} bytes with sha256 {stored_sha256}, registered {clip.sealed.size} with {clip.sealed.sha256}"
        )
    return None


def video_problem(clip: Clip, video: VideoFacts, tolerance_s: float) -> str | None:
    """Why the video does not match its registration, or None."""
    registered = clip.registered_seconds
    # Segmenters cut on keyframes, so allow a fixed slack plus a share of the length.
    allowed = max(tolerance_s, registered * 0.05)
    if abs(video.duration_s - registered) > allowed:
        return f"duration {video.duration_s:.2f} s differs from the registered {registered:.2f} s"
    return None
