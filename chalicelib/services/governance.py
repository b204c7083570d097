"""The dpo's levers over stored footage: the retention policy and erasure; and the public notice."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from chalicelib.domain.audit import Outcome
from chalicelib.domain.catalog import Site
from chalicelib.domain.clips import Clip, ClipStatus, UtcTime
from chalicelib.domain.principal import Principal
from chalicelib.domain.retention import RetentionChange, check_retention_change
from chalicelib.domain.text import Statement
from chalicelib.errors import Conflict, NotFound, RefusedConflict
from chalicelib.model import Model
from chalicelib.notices import PublicNotice, public_notice
from chalicelib.policy import Action, authorize, authorize_addressed
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects


class ErasureRequest(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Statement = Field(min_length=5, max_length=1000)


class RetentionPolicy(Model):
    site_id: str
    retention_days: int
    retention_justification: str = Field(description="why more than 3 days, recorded with the last change")
    retention_changed_at: UtcTime | None
    retention_changed_by: str | None
    max_retention_days: int = Field(description="the legal maximum, from legal_basis")
    legal_basis: str


class PublicSite(Model):
    site_id: str
    name: str
    controller: str


class PublicSites(Model):
    sites: list[PublicSite]


class Tombstone(Model):
    """What stays of an erased or expired clip: ids, times, who and why; no footage."""

    clip_id: str
    site: str
    camera_id: str
    start: UtcTime
    end: UtcTime
    status: ClipStatus
    erased_at: UtcTime | None
    erased_by: str | None
    erasure_reason: str | None
    expired_at: UtcTime | None


class Governance:
    def __init__(self, catalog: Catalog, index: ClipIndex, objects: ClipObjects, audit: AuditLog) -> None:
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._audit = audit

    def public_sites(self) -> PublicSites:
        """Who runs cameras: public by law (Art. 13), so that anyone can find a site's notice."""
        sites = self._catalog.sites(self._catalog.site_ids())
        return PublicSites(sites=[PublicSite.model_validate(site, from_attributes=True) for site in sites])

    def notice(self, site_id: str) -> PublicNotice:
        """The public transparency notice, with the retention in force now."""
        return public_notice(self._site(site_id))

    def retention(self, principal: Principal, site_id: str) -> Site:
        authorize(principal, Action.READ_RETENTION, site_id)
        return self._site(site_id)

    def set_retention(self, principal: Principal, site_id: str, change: RetentionChange, now: datetime) -> Site:
        """Change the site's policy; the next sweep applies a shorter one to footage already stored."""
        authorize(principal, Action.SET_RETENTION, site_id)
        site = self._site(site_id)
        check_retention_change(site, change)
        updated = site.model_copy(
            update={
                "retention_days": change.days,
                "retention_justification": change.justification.strip(),
                "retention_changed_at": now,
                "retention_changed_by": principal.id,
            }
        )
        self._catalog.put_site(updated)
        self._audit.record(
            principal,
            Action.SET_RETENTION,
            site_id,
            f"retention {site.retention_days} → {change.days} days",
            Outcome.ALLOWED,
            now,
            reason=change.justification.strip() or None,
        )
        return updated

    def erase(self, principal: Principal, clip_id: str, request: ErasureRequest, now: datetime) -> Clip:
        """Art. 17: every version and thumbnail goes; a tombstone with ids, times, who and why stays."""
        clip = self._index.get(clip_id)
        clip = authorize_addressed(principal, Action.ERASE_CLIP, clip, lambda found: found.site, f"clip:{clip_id}")
        if clip.holds:
            raise RefusedConflict(
                f"clip {clip_id} is held by case(s) {', '.join(sorted(clip.holds))}: it cannot be erased",
                action=Action.ERASE_CLIP,
                site=clip.site,
                target=f"clip:{clip_id}",
            )
        if clip.status in (ClipStatus.EXPIRED, ClipStatus.ERASED):
            raise Conflict(f"clip {clip_id} is already {clip.status}")
        # Everything, listed (not only the versions recorded): an erasure is rare and must leave nothing.
        deletion = self._objects.delete_all_of(clip)
        tombstone = None
        if not deletion.refused:
            tombstone = self._index.mark_erased(clip, principal.id, request.reason, now)
        if tombstone is None:
            raise RefusedConflict(
                f"clip {clip_id} was put on hold while being erased",
                action=Action.ERASE_CLIP,
                site=clip.site,
                target=f"clip:{clip_id}",
            )
        self._catalog.forget_latest_clip(clip.camera_id, clip_id)  # the wall's poster of it is gone too
        self._audit.record(
            principal, Action.ERASE_CLIP, clip.site, f"clip:{clip_id}", Outcome.ALLOWED, now, reason=request.reason
        )
        return tombstone

    def _site(self, site_id: str) -> Site:
        site = self._catalog.get_site(site_id)
        if site is None:
            raise NotFound(f"site {site_id} not found")
        return site
