"""Officials find and view footage: every answer checked, every access audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.audit import Outcome
from chalicelib.domain.catalog import Camera
from chalicelib.domain.clips import Clip, ClipStatus
from chalicelib.domain.gaps import Gap
from chalicelib.domain.principal import Principal
from chalicelib.domain.query import Window, check_page_limit
from chalicelib.domain.timeutil import iso
from chalicelib.errors import Conflict, InvalidRequest, NotFound, RefusedInvalid
from chalicelib.policy import Action, authorize, authorize_addressed, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.gaps import GapLog
from chalicelib.store.objects import ClipObjects


class ViewRequest(BaseModel):
    """Why the footage is needed: purpose limitation (GDPR Art. 5(1)(b)) needs it on record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]
    case_id: str | None = Field(default=None, max_length=64)
    ttl_seconds: int | None = Field(default=None, ge=30)


@dataclass(frozen=True)
class UrlPolicy:
    default: timedelta
    maximum: timedelta

    def ttl(self, asked_seconds: int | None) -> timedelta:
        if asked_seconds is None:
            return self.default
        if asked_seconds > self.maximum.total_seconds():
            raise InvalidRequest(f"a signed URL lives at most {int(self.maximum.total_seconds())} s")
        return timedelta(seconds=asked_seconds)


def clip_record(clip: Clip) -> dict[str, Any]:
    """The index record as officials see it (no storage keys)."""
    return clip.model_dump(mode="json", exclude={"object_key", "object_version", "thumbnail_keys", "gateway_id"})


class Footage:
    def __init__(
        self, catalog: Catalog, index: ClipIndex, objects: ClipObjects, audit: AuditLog, urls: UrlPolicy, gaps: GapLog
    ) -> None:
        self._gaps = gaps
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._audit = audit
        self._urls = urls

    def sites(self, principal: Principal) -> list[dict[str, Any]]:
        require_role(principal, Action.LIST_SITES)
        return [
            site.model_dump(include={"site_id", "name", "country", "timezone", "retention_days"})
            for site in self._catalog.sites(principal.sites)
        ]

    def cameras(self, principal: Principal, site_id: str) -> list[Camera]:
        authorize(principal, Action.LIST_CAMERAS, site_id)
        if self._catalog.get_site(site_id) is None:
            raise NotFound(f"site {site_id} not found")
        return self._catalog.cameras_of_site(site_id)

    def search(
        self,
        principal: Principal,
        camera_id: str,
        window: Window,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """A camera's indexed clips in the window, newest first, each with short-lived thumbnail URLs."""
        window.check()
        check_page_limit(limit)
        camera = self._catalog.get_camera(camera_id)
        # The role first, answered alike whether the camera exists or not.
        camera = authorize_addressed(
            principal, Action.SEARCH_CLIPS, camera, lambda found: found.site_id, f"camera:{camera_id}"
        )
        page = self._index.camera_clips(camera_id, window.start, window.end, limit, cursor)
        ttl = self._urls.default
        clips = [
            clip_record(clip) | {"thumbnails": [self._objects.view_url(key, None, ttl) for key in clip.thumbnail_keys]}
            for clip in page.clips
        ]
        self._audit.record(
            principal,
            Action.SEARCH_CLIPS,
            camera.site_id,
            f"camera:{camera_id} {iso(window.start)}/{iso(window.end)} ({len(clips)} clips)",
            Outcome.ALLOWED,
            now,
        )
        return {"clips": clips, "cursor": page.cursor, "thumbnails_expire_at": iso(now + ttl)}

    def gaps(self, principal: Principal, camera_id: str, window: Window) -> list[Gap]:
        """Why footage is missing: what the camera's gateway dropped at the edge (no footage, so admins too)."""
        window.check()
        camera = self._catalog.get_camera(camera_id)
        authorize_addressed(principal, Action.READ_GAPS, camera, lambda found: found.site_id, f"camera:{camera_id}")
        return self._gaps.gaps(camera_id, window.start, window.end)

    def clip(self, principal: Principal, clip_id: str, now: datetime) -> Clip:
        clip = self._readable_clip(principal, Action.READ_CLIP, clip_id)
        self._audit.record(principal, Action.READ_CLIP, clip.site, f"clip:{clip_id}", Outcome.ALLOWED, now)
        return clip

    def view(
        self, principal: Principal, clip_id: str, read_request: Callable[[], ViewRequest], now: datetime
    ) -> dict[str, Any]:
        """A signed GET for the clip, issued only after the checks and with its purpose on record.

        The request is read once the caller may see the clip: a view asked for without a valid purpose is
        then a refusal on the clip's record (purpose limitation), not a bare 400."""
        clip = self._readable_clip(principal, Action.VIEW_CLIP, clip_id)
        try:
            request = read_request()
        except InvalidRequest as invalid:
            raise RefusedInvalid(
                invalid.message, action=Action.VIEW_CLIP, site=clip.site, target=f"clip:{clip_id}"
            ) from invalid
        if clip.status != ClipStatus.INDEXED:
            raise Conflict(f"clip {clip_id} is {clip.status}: there is no footage to view")
        ttl = self._urls.ttl(request.ttl_seconds)
        url = self._objects.view_url(clip.object_key, clip.object_version, ttl)
        self._audit.record(
            principal,
            Action.VIEW_CLIP,
            clip.site,
            f"clip:{clip_id}",
            Outcome.ALLOWED,
            now,
            purpose=request.purpose,
            case_id=request.case_id,
        )
        return {"url": url, "expires_at": iso(now + ttl), "sha256": clip.sha256}

    def _readable_clip(self, principal: Principal, action: Action, clip_id: str) -> Clip:
        # The role first, answered alike whether the clip exists or not: existence is no admin's business.
        return authorize_addressed(principal, action, self._index.get(clip_id), lambda c: c.site, f"clip:{clip_id}")
