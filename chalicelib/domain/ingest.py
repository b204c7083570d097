"""What makes an uploaded clip acceptable: the bytes registered, and a video as long as registered; and what
becomes of an object that arrives for a clip no longer awaiting it."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.domain.clips import GONE, Clip, ClipStatus, VideoFacts


class UploadFate(StrEnum):
    TAKE = "take"  # the upload the clip awaits (or the one being judged, after a crash): judge it
    DUPLICATE = "duplicate"  # a version the archive holds already (a notification delivered again)
    DISCARD = "discard"  # a stray version for a clip that has its footage or is being judged: delete it alone
    DISCARD_ALL = "discard_all"  # anything for an erased or expired clip: delete every version


def upload_fate(clip: Clip, key: str, version_id: str) -> tuple[UploadFate, str]:
    """What to do with object version `version_id` at `key`, one of the clip's keys; the reason for a discard.

    Footage never outlives its erasure or expiry: an upload URL kept from before, or still valid, must not
    bring it back.
    """
    if clip.status in GONE:
        return UploadFate.DISCARD_ALL, f"an upload for a clip that is {clip.status}: every version deleted"
    if key == clip.upload_key:
        if clip.status == ClipStatus.REGISTERED or (
            clip.status == ClipStatus.UPLOADED and version_id == clip.claimed_version
        ):
            return UploadFate.TAKE, ""
        if version_id == clip.claimed_version:
            return UploadFate.DUPLICATE, ""
        return UploadFate.DISCARD, f"a second upload for a clip already {clip.status}: that version deleted"
    # A sealed clip's own key, announced only for clips registered when the opened clip went under clips/:
    # ingest alone writes the opened clip there, while the clip is being judged.
    if clip.status == ClipStatus.UPLOADED or version_id == clip.object_version:
        return UploadFate.DUPLICATE, ""
    return UploadFate.DISCARD, "an object the archive did not write, at a sealed clip's key: that version deleted"


def size_problem(clip: Clip, stored_size: int) -> str | None:
    """Why bytes of this size cannot be the registered clip, or None."""
    if stored_size != clip.size:
        return f"size {stored_size} bytes differs from the registered {clip.size}"
    return None


def upload_problem(clip: Clip, stored_size: int, stored_sha256: str) -> str | None:
    """Why the stored bytes are not the registered clip, or None."""
    if problem := size_problem(clip, stored_size):
        return problem
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
