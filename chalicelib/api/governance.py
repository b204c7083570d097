"""Routes for the dpo's retention policy and erasure, and the public notice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.domain.catalog import Site
    from chalicelib.domain.clips import Clip
    from chalicelib.domain.retention import RetentionChange
    from chalicelib.notices import PublicNotice
    from chalicelib.services.governance import ErasureRequest, PublicSites

governance_api = Blueprint(__name__)


@api_route(
    governance_api,
    "/public/sites",
    summary="The sites whose cameras this archive serves, for finding their notices",
    answer="chalicelib.services.governance:PublicSites",
)
def public_sites() -> PublicSites:
    return wiring.governance().public_sites()


@api_route(
    governance_api,
    "/public/sites/{site}/notice",
    summary="The transparency notice: controller, purposes, legal basis, retention in force, DPO, rights",
    answer="chalicelib.notices:PublicNotice",
)
def site_notice(site: str) -> PublicNotice:
    return wiring.governance().notice(site)


@api_route(
    governance_api,
    "/sites/{site}/retention",
    summary="The site's retention policy (dpo)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.governance:RetentionPolicy",
)
def read_retention(principal: Principal, site: str) -> Site:
    return wiring.governance().retention(principal, site)


@api_route(
    governance_api,
    "/sites/{site}/retention",
    method="PUT",
    summary="Change the retention policy: up to the legal maximum, a justification beyond 3 days (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.retention:RetentionChange",
    answer="chalicelib.services.governance:RetentionPolicy",
)
def set_retention(principal: Principal, site: str, body: RetentionChange) -> Site:
    return wiring.governance().set_retention(principal, site, body, wiring.now())


@api_route(
    governance_api,
    "/clips/{clip_id}/erasure",
    method="POST",
    summary="Erase a clip (Art. 17): every version and thumbnail goes, a tombstone stays; 409 while held (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.services.governance:ErasureRequest",
    answer="chalicelib.services.governance:Tombstone",
    errors=(409,),
)
def erase_clip(principal: Principal, clip_id: str, body: ErasureRequest) -> Clip:
    return wiring.governance().erase(principal, clip_id, body, wiring.now())
