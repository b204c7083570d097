"""A site's configuration applied to its record: limits and their basis replaced, the DPO's policy kept."""

from __future__ import annotations

from chalicelib.domain.catalog import Site, SiteConfiguration
from chalicelib.domain.retention import RetentionChange, check_retention_change
from chalicelib.errors import Conflict

_CONFIGURED = (
    "name",
    "country",
    "timezone",
    "max_retention_days",
    "max_hold_days",
    "legal_basis",
    "controller",
    "dpo_contact",
)


def configured_site(existing: Site | None, site_id: str, config: SiteConfiguration) -> Site:
    """The site record `config` makes of `existing` (None: a new site, with its initial policy)."""
    limits = config.model_dump(exclude={"initial_retention_days", "initial_retention_justification"})
    if existing is None:
        site = Site(
            site_id=site_id,
            retention_days=config.initial_retention_days,
            retention_justification=config.initial_retention_justification,
            **limits,
        )
        # The first policy follows the DPO's rules: within the legal maximum, justified beyond 3 days.
        check_retention_change(
            site, RetentionChange(days=site.retention_days, justification=site.retention_justification)
        )
        return site
    if existing.retention_days > config.max_retention_days:
        raise Conflict(
            f"{site_id} keeps footage {existing.retention_days} days, more than the new maximum of "
            f"{config.max_retention_days}: the DPO shortens the retention first (PUT /sites/{site_id}/retention)"
        )
    return existing.model_copy(update=limits)


def changes(before: Site | None, after: Site) -> str:
    """What a configuration changed, for the audit trail (names and numbers; long texts only as 'changed')."""
    if before is None:
        return f"created: maximum {after.max_retention_days} days, hold {after.max_hold_days} days"
    changed = []
    for field in _CONFIGURED:
        old, new = getattr(before, field), getattr(after, field)
        if old != new:
            changed.append(f"{field} {old} → {new}" if isinstance(new, int) else f"{field} changed")
    return "; ".join(changed) or "unchanged"
