"""Storage limitation (GDPR Art. 5(1)(e)): the retention policy, its changes, and what is due for deletion."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import ConfigDict, Field

from chalicelib.domain.catalog import Site
from chalicelib.domain.clips import GONE, Clip
from chalicelib.domain.text import Statement
from chalicelib.errors import InvalidRequest
from chalicelib.model import Model

# EDPB Guidelines 3/2019 para. 121: beyond 72 hours, the longer the storage, the more argumentation is needed.
DAYS_WITHOUT_JUSTIFICATION = 3


class RetentionChange(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days: int = Field(ge=1)
    justification: Statement = Field(default="", max_length=2000)


def check_retention_change(site: Site, change: RetentionChange) -> None:
    """Refuse a policy beyond the site's legal maximum, or beyond three days without a recorded reason."""
    if change.days > site.max_retention_days:
        raise InvalidRequest(
            f"{site.name} may keep footage at most {site.max_retention_days} days ({site.legal_basis})"
        )
    if change.days > DAYS_WITHOUT_JUSTIFICATION and not change.justification.strip():
        raise InvalidRequest(
            f"keeping footage more than {DAYS_WITHOUT_JUSTIFICATION} days needs a justification "
            "(EDPB Guidelines 3/2019, para. 121)"
        )


def effective_retain_until(clip: Clip, retention_days: int | None) -> datetime:
    """A shorter policy applies to footage already stored; a longer one only to footage recorded after it."""
    if retention_days is None:
        return clip.retain_until
    return min(clip.retain_until, clip.start + timedelta(days=retention_days))


def plan_expiry(candidates: Iterable[Clip], now: datetime, retention_days: int | None = None) -> list[Clip]:
    """The clips whose time is up under the site's current policy, not yet gone, and held by no case."""
    return [
        clip
        for clip in candidates
        if effective_retain_until(clip, retention_days) <= now and clip.status not in GONE and not clip.holds
    ]
