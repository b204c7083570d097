"""Officials find and view footage: every answer checked, every access audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field

from chalicelib.domain.audit import Outcome
from chalicelib.domain.cases import CaseStatus
from chalicelib.domain.catalog import Camera, is_silent
from chalicelib.domain.clips import Clip, ClipRecord, ClipStatus, Stills, UtcTime
from chalicelib.domain.gaps import Gap
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window, check_page_limit
from chalicelib.domain.text import Statement
from chalicelib.domain.timeutil import iso
from chalicelib.errors import Conflict, InvalidRequest, NotFound, RefusedInvalid
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, authorize_addressed, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.cases import CaseBook
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.gaps import GapLog
from chalicelib.store.objects import ClipObjects


class ViewRequest(Model):
    """Why the footage is needed: purpose limitation (GDPR Art. 5(1)(b)) needs it on record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Statement = Field(min_length=5, max_length=500)
    case_id: str | None = Field(
        default=None, max_length=64, description="investigators view for a case: an open case of the clip's site"
    )
    ttl_seconds: int | None = Field(default=None, ge=30)
    download: bool = Field(
        default=False, description="a URL that saves the file instead of playing it (investigator, dpo)"
    )


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


class SiteSummary(Model):
    site_id: str
    name: str
    country: str
    timezone: str = Field(description="IANA zone: times are shown to officials in it")
    retention_days: int


class SiteList(Model):
    sites: list[SiteSummary]


class CameraList(Model):
    cameras: list[Camera]


class GapList(Model):
    gaps: list[Gap]


class StillsLink(Stills):
    """A clip's stills, made from keyframes: one JPEG of `count` stills side by side, the poster first; a
    viewer crops still n at x = n × width."""

    url: str = Field(description="a signed GET of the JPEG, valid until the answer's expiry time")


class SearchedClip(ClipRecord):
    stills: StillsLink | None = Field(description="none for a clip indexed before its stills were recorded so")


class ClipPage(Model):
    clips: list[SearchedClip]
    cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")
    thumbnails_expire_at: UtcTime


class CameraState(StrEnum):
    RECORDING = "recording"
    SILENT = "silent"


class WallCamera(Camera):
    state: CameraState = Field(description="silent: no clip for longer than the site's silence threshold")
    poster: StillsLink | None = Field(description="the latest clip's stills: the wall shows the first, its poster")


class Wall(Model):
    site: str
    cameras: list[WallCamera]
    posters_expire_at: UtcTime


class ViewGrant(Model):
    url: str = Field(description="a signed GET of the clip's bytes, valid until expires_at")
    expires_at: UtcTime
    expires_in_s: int = Field(description="the URL's lifetime: a client with a wrong clock counts from receipt")
    sha256: str


class Footage:
    def __init__(
        self,
        catalog: Catalog,
        index: ClipIndex,
        objects: ClipObjects,
        audit: AuditLog,
        urls: UrlPolicy,
        gaps: GapLog,
        cases: CaseBook,
        silent_after: timedelta,
    ) -> None:
        self._cases = cases
        self._silent_after = silent_after
        self._gaps = gaps
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._audit = audit
        self._urls = urls

    def sites(self, principal: Principal) -> SiteList:
        require_role(principal, Action.LIST_SITES)
        sites = self._catalog.sites(principal.sites)
        return SiteList(sites=[SiteSummary.model_validate(site, from_attributes=True) for site in sites])

    def cameras(self, principal: Principal, site_id: str) -> CameraList:
        authorize(principal, Action.LIST_CAMERAS, site_id)
        if self._catalog.get_site(site_id) is None:
            raise NotFound(f"site {site_id} not found")
        return CameraList(cameras=self._catalog.cameras_of_site(site_id))

    def wall(self, principal: Principal, site_id: str, now: datetime) -> Wall:
        """Every camera of a site with its state and its latest poster (thumbnails are footage: audited)."""
        authorize(principal, Action.SEARCH_CLIPS, site_id)
        if self._catalog.get_site(site_id) is None:
            raise NotFound(f"site {site_id} not found")
        ttl = self._urls.default
        cameras = []
        for camera in self._catalog.cameras_of_site(site_id):
            silent = is_silent(camera.last_clip_at, now, self._silent_after)
            cameras.append(
                WallCamera(
                    **camera.model_dump(),
                    state=CameraState.SILENT if silent else CameraState.RECORDING,
                    poster=self._stills_link(camera.latest_poster_key, camera.latest_stills, ttl),
                )
            )
        posters = sum(1 for camera in cameras if camera.poster)
        self._audit.record(
            principal, Action.SEARCH_CLIPS, site_id, f"wall of {site_id} ({posters} posters)", Outcome.ALLOWED, now
        )
        return Wall(site=site_id, cameras=cameras, posters_expire_at=now + ttl)

    def search(
        self,
        principal: Principal,
        camera_id: str,
        window: Window,
        limit: int,
        cursor: str | None,
        now: datetime,
    ) -> ClipPage:
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
            SearchedClip.model_validate(clip.model_dump() | {"stills": self._clip_stills(clip, ttl)})
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
        return ClipPage(clips=clips, cursor=page.cursor, thumbnails_expire_at=now + ttl)

    def gaps(self, principal: Principal, camera_id: str, window: Window) -> GapList:
        """Why footage is missing: what the camera's gateway dropped at the edge (no footage, so admins too)."""
        window.check()
        camera = self._catalog.get_camera(camera_id)
        authorize_addressed(principal, Action.READ_GAPS, camera, lambda found: found.site_id, f"camera:{camera_id}")
        return GapList(gaps=self._gaps.gaps(camera_id, window.start, window.end))

    def clip(self, principal: Principal, clip_id: str, now: datetime) -> Clip:
        clip = self._readable_clip(principal, Action.READ_CLIP, clip_id)
        self._audit.record(principal, Action.READ_CLIP, clip.site, f"clip:{clip_id}", Outcome.ALLOWED, now)
        return clip

    def view(
        self, principal: Principal, clip_id: str, read_request: Callable[[], ViewRequest], now: datetime
    ) -> ViewGrant:
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
        action = Action.DOWNLOAD_CLIP if request.download else Action.VIEW_CLIP
        authorize(principal, action, clip.site, target=f"clip:{clip_id}")
        if clip.status != ClipStatus.INDEXED:
            raise Conflict(f"clip {clip_id} is {clip.status}: there is no footage to view")
        if principal.role == Role.INVESTIGATOR:
            self._check_case(principal, action, clip, request.case_id)
        ttl = self._urls.ttl(request.ttl_seconds)
        save_as = f"{clip.camera_id}-{clip.start:%Y%m%dT%H%M%SZ}-{clip.clip_id}.mp4" if request.download else None
        url = self._objects.view_url(clip.object_key, clip.object_version, ttl, save_as=save_as)
        self._audit.record(
            principal,
            action,
            clip.site,
            f"clip:{clip_id}",
            Outcome.ALLOWED,
            now,
            purpose=request.purpose,
            case_id=request.case_id,
        )
        return ViewGrant(url=url, expires_at=now + ttl, expires_in_s=int(ttl.total_seconds()), sha256=clip.sha256)

    def _clip_stills(self, clip: Clip, ttl: timedelta) -> StillsLink | None:
        return self._stills_link(clip.thumbnail_keys[0] if clip.thumbnail_keys else None, clip.stills, ttl)

    def _stills_link(self, key: str | None, stills: Stills | None, ttl: timedelta) -> StillsLink | None:
        if key is None or stills is None:
            return None
        return StillsLink(**stills.model_dump(), url=self._objects.view_url(key, None, ttl))

    def _check_case(self, principal: Principal, action: Action, clip: Clip, case_id: str | None) -> None:
        """Police view footage for a case (DESIGN.md "Roles"): an open case of the clip's own site; a view for
        none, another site's or a closed one is a refusal on the clip's record."""
        case = self._cases.get(case_id) if case_id else None
        if case is None or case.site != clip.site or case.status != CaseStatus.OPEN:
            raise RefusedInvalid(
                "an investigator views footage for a case: give case_id, an open case of this site",
                action=action,
                site=clip.site,
                target=f"clip:{clip.clip_id}",
            )

    def _readable_clip(self, principal: Principal, action: Action, clip_id: str) -> Clip:
        # The role first, answered alike whether the clip exists or not: existence is no admin's business.
        return authorize_addressed(principal, action, self._index.get(clip_id), lambda c: c.site, f"clip:{clip_id}")
