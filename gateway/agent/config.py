"""The agent's configuration: one TOML file, checked completely at start so a typo stops the service
at once instead of surfacing hours later as lost footage."""

from __future__ import annotations

import base64
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# The archive's own patterns (chalicelib.domain): refusing here beats a 400 on every registration.
CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_GATEWAY_ID = re.compile(r"^gw-[a-z0-9-]{1,60}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

_REQUIRED = {"api_url", "token", "site_recipient", "spool_dir", "quota_bytes", "max_clip_age_days", "cameras"}
_NON_NEGATIVE = {"settle_seconds", "quarantine_after_seconds"}
_OPTIONAL = _NON_NEGATIVE | {
    "heartbeat_seconds",
    "poll_seconds",
    "max_refusals",
    "upload_concurrency",
    "backoff_base_seconds",
    "backoff_cap_seconds",
    "refusal_delay_seconds",
    "confirm_timeout_seconds",
    "request_timeout_seconds",
    "upload_timeout_seconds",
    "log_level",
    "proxy_url",
}


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key."""


# Clips uploaded at once from a backlog: over a link with a long round trip each clip's requests
# mostly wait, so a few in flight drain it several times faster (bench/bench_gateway.py).
DEFAULT_UPLOAD_CONCURRENCY = 4
# An RTSP camera's segment length: the archive takes clips up to an hour, and a segment ends at the first
# keyframe after this, so half of that leaves room for any camera's keyframe interval.
MIN_SEGMENT_SECONDS = 1.0
MAX_SEGMENT_SECONDS = 1800.0
_CAMERA_KEYS = {"camera_id", "watch_dir"}
_RTSP_KEYS = {"rtsp_url", "segment_seconds"}


@dataclass(frozen=True)
class CameraConfig:
    camera_id: str
    # A watched folder: where the NVR writes finished clips. An RTSP camera: the agent's own folder that
    # its ffmpeg records segments into (keep it for this camera alone).
    watch_dir: Path
    # Set: the agent records this RTSP stream itself (gateway.agent.rtsp). It may carry the camera's
    # credentials, so it is left out of repr.
    rtsp_url: str | None = field(default=None, repr=False)
    segment_seconds: float = 60.0


@dataclass(frozen=True)
class HttpProxy:
    """The site network's outbound HTTP proxy: every request (API and S3) goes through it as a CONNECT
    tunnel, so TLS runs end to end between the agent and AWS and the proxy sees only host names."""

    host: str
    port: int
    # `user:password` from the URL, if the proxy wants them (sent as Basic auth, to the proxy only).
    credentials: str | None = field(default=None, repr=False)

    def connect_headers(self) -> dict[str, str]:
        if self.credentials is None:
            return {}
        return {"Proxy-Authorization": "Basic " + base64.b64encode(self.credentials.encode()).decode()}


@dataclass(frozen=True)
class AgentConfig:
    api_url: str
    token: str
    site_recipient: str
    spool_dir: Path
    quota_bytes: int
    max_clip_age_days: float
    cameras: tuple[CameraConfig, ...]
    # Cameras count as silent after 10 minutes (camera_silent_seconds): five heartbeats in that window are
    # plenty, and each is an API request billed per camera-month (scripts/cost).
    heartbeat_seconds: float = 120.0
    poll_seconds: float = 2.0
    # A watched file is taken once unchanged over two polls AND for this long: an FTP upload that
    # stalls for a few seconds must not be taken half written (a fragmented MP4 cut between
    # fragments probes as complete video).
    settle_seconds: float = 10.0
    # A file that does not probe as video is quarantined only once unchanged this long: it may be a
    # write still in progress, and quarantining deletes it from the folder.
    quarantine_after_seconds: float = 120.0
    # Definite refusals (4xx) a clip may collect before it moves to failed/.
    max_refusals: int = 5
    upload_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY
    # Network errors: full jitter over base·2^n, capped.
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    # Refusals are retried after refusal_delay·2^(n-1), capped too: a refusal an admin fixes (a camera
    # not yet assigned to the gateway) should not burn the whole budget within seconds.
    refusal_delay_seconds: float = 10.0
    # A clip PUT successfully but still not `received` this long after is registered and sent again.
    confirm_timeout_seconds: float = 900.0
    request_timeout_seconds: float = 30.0
    upload_timeout_seconds: float = 300.0
    log_level: str = "INFO"
    proxy: HttpProxy | None = None

    @property
    def gateway_id(self) -> str:
        return self.token.partition(".")[0]


def load_config(path: Path) -> AgentConfig:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> AgentConfig:
    # Unknown keys are refused: a misspelt `quota_byte` silently ignored would leave the disk unbounded.
    unknown = set(raw) - _REQUIRED - _OPTIONAL
    if unknown:
        raise ConfigError(f"unknown keys: {', '.join(sorted(unknown))}")
    missing = _REQUIRED - set(raw)
    if missing:
        raise ConfigError(f"missing keys: {', '.join(sorted(missing))}")
    optional: dict[str, Any] = {}
    for key in _OPTIONAL & set(raw):
        if key == "log_level":
            optional[key] = _log_level(raw[key])
        elif key == "proxy_url":
            optional["proxy"] = _proxy(raw[key])
        elif key in ("max_refusals", "upload_concurrency"):
            optional[key] = _positive_int(key, raw[key])
        elif key in _NON_NEGATIVE:
            optional[key] = _non_negative_number(key, raw[key])
        else:
            optional[key] = _positive_number(key, raw[key])
    spool_dir = _path("spool_dir", raw["spool_dir"])
    cameras = _cameras(raw["cameras"])
    if any(spool_dir.is_relative_to(camera.watch_dir) for camera in cameras):
        raise ConfigError("spool_dir must not lie inside a watch_dir")
    return AgentConfig(
        api_url=_api_url(raw["api_url"]),
        token=_token(raw["token"]),
        site_recipient=_recipient(raw["site_recipient"]),
        spool_dir=spool_dir,
        quota_bytes=_positive_int("quota_bytes", raw["quota_bytes"]),
        max_clip_age_days=_positive_number("max_clip_age_days", raw["max_clip_age_days"]),
        cameras=cameras,
        **optional,
    )


def _api_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError("api_url must be a string")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"api_url {value!r} is not an http(s) URL")
    # The bearer token travels in every request: plain HTTP only to this machine (tests, a local stack).
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError("api_url must use https (plain http is allowed only to localhost)")
    return value.rstrip("/")


def _proxy(value: Any) -> HttpProxy:
    # The message never repeats the URL: it may hold the proxy's password.
    if not isinstance(value, str):
        raise ConfigError("proxy_url must be a string")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise ConfigError("proxy_url is not a URL") from error
    if parts.scheme != "http" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ConfigError("proxy_url must be http://[user:password@]host:port (the proxy's own address)")
    credentials = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return HttpProxy(parts.hostname, port, credentials)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError("token must be a string")
    gateway_id, dot, secret = value.partition(".")
    if not dot or not _GATEWAY_ID.fullmatch(gateway_id) or not _SECRET.fullmatch(secret):
        raise ConfigError("token must be `<gateway_id>.<secret>` as the archive issued it (gw-….…)")
    return value


def _recipient(value: Any) -> str:
    # Checked with pyrage itself: a wrong key found only at the first seal would stop every take.
    import pyrage

    if not isinstance(value, str) or not value.startswith("age1"):
        raise ConfigError("site_recipient must be the site's age public key (age1…)")
    try:
        pyrage.x25519.Recipient.from_str(value)
    except pyrage.RecipientError as error:
        raise ConfigError(f"site_recipient is not a valid age public key: {error}") from error
    return value


def _path(key: str, value: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key} must be a path")
    path = Path(value)
    if not path.is_absolute():
        raise ConfigError(f"{key} must be absolute (the service's working directory is not yours)")
    return path


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key} must be a positive integer")
    return value


def _positive_number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{key} must be a positive number")
    return float(value)


def _non_negative_number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{key} must be a number, zero or more")
    return float(value)


def _cameras(value: Any) -> tuple[CameraConfig, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError("[[cameras]] must list at least one camera")
    cameras = [_camera(entry) for entry in value]
    ids = [camera.camera_id for camera in cameras]
    if len(set(ids)) != len(ids):
        raise ConfigError("a camera_id is listed twice")
    # Folders are scanned recursively: one inside another would hand a clip to the wrong camera.
    for camera in cameras:
        for other in cameras:
            if other is not camera and camera.watch_dir.is_relative_to(other.watch_dir):
                raise ConfigError(f"watch_dir of {camera.camera_id} lies inside that of {other.camera_id}")
    return tuple(cameras)


def _camera(entry: Any) -> CameraConfig:
    if not isinstance(entry, dict) or not _CAMERA_KEYS <= set(entry) <= _CAMERA_KEYS | _RTSP_KEYS:
        raise ConfigError(
            "each [[cameras]] entry needs camera_id and watch_dir (and for an RTSP camera rtsp_url, "
            "optionally segment_seconds), nothing else"
        )
    camera_id = entry["camera_id"]
    if not isinstance(camera_id, str) or not CAMERA_ID.fullmatch(camera_id):
        raise ConfigError(f"camera_id {camera_id!r} is not a valid camera id")
    watch_dir = _path("watch_dir", entry["watch_dir"])
    if "rtsp_url" not in entry:
        if "segment_seconds" in entry:
            raise ConfigError(f"segment_seconds of {camera_id} needs an rtsp_url")
        return CameraConfig(camera_id, watch_dir)
    segment_seconds = _positive_number("segment_seconds", entry.get("segment_seconds", 60.0))
    if not MIN_SEGMENT_SECONDS <= segment_seconds <= MAX_SEGMENT_SECONDS:
        raise ConfigError(f"segment_seconds of {camera_id} must be {MIN_SEGMENT_SECONDS:g} to {MAX_SEGMENT_SECONDS:g}")
    return CameraConfig(camera_id, watch_dir, _rtsp_url(camera_id, entry["rtsp_url"]), segment_seconds)


def _rtsp_url(camera_id: str, value: Any) -> str:
    # The message never repeats the URL: it may hold the camera's password.
    if not isinstance(value, str):
        raise ConfigError(f"rtsp_url of {camera_id} must be a string")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as error:
        raise ConfigError(f"rtsp_url of {camera_id} is not a URL") from error
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        raise ConfigError(f"rtsp_url of {camera_id} must be rtsp://host/… or rtsps://host/…")
    if any(character.isspace() for character in value):
        raise ConfigError(f"rtsp_url of {camera_id} must not contain spaces (percent-encode them)")
    return value


def _log_level(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log_level must be DEBUG, INFO, WARNING or ERROR")
    return value.upper()
