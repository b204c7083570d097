"""Routes for officials: sites, cameras, the clip index, signed views, the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.api.models import AuditQuery, SpanQuery, VerifyQuery, WindowQuery
    from chalicelib.services.audit_trail import AuditPage, Verification
    from chalicelib.services.footage import (
        CameraList,
        ClipPage,
        ClipRecord,
        GapList,
        SiteList,
        ViewGrant,
        ViewRequest,
        Wall,
    )

officials_api = Blueprint(__name__)
DEFAULT_SEARCH_SPAN = timedelta(hours=24)
# GET /audit/verify reads one digest object at a time (288 a site and day): by default the last day
# (README "What verification checks"; at most chalicelib.services.audit_trail.MAX_VERIFY_SPAN).
DEFAULT_VERIFY_SPAN = timedelta(days=1)


@api_route(
    officials_api,
    "/sites",
    summary="The sites the caller may see",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.footage:SiteList",
)
def list_sites(principal: Principal) -> SiteList:
    return wiring.footage().sites(principal)


@api_route(
    officials_api,
    "/sites/{site}/cameras",
    summary="A site's cameras with status and last clip time",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.footage:CameraList",
)
def list_cameras(principal: Principal, site: str) -> CameraList:
    return wiring.footage().cameras(principal, site)


@api_route(
    officials_api,
    "/sites/{site}/wall",
    summary="The camera wall: each camera's state and latest poster (operator, investigator, dpo; audited)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.footage:Wall",
)
def camera_wall(principal: Principal, site: str) -> Wall:
    return wiring.footage().wall(principal, site, wiring.now())


@api_route(
    officials_api,
    "/cameras/{camera_id}/clips",
    summary="Indexed clips of a camera in a time window, newest first, with short-lived thumbnail URLs",
    auth=Auth.OFFICIAL,
    query="chalicelib.api.models:WindowQuery",
    answer="chalicelib.services.footage:ClipPage",
)
def search_clips(principal: Principal, camera_id: str, query: WindowQuery) -> ClipPage:
    now = wiring.now()
    window = query.window(now, DEFAULT_SEARCH_SPAN)
    return wiring.footage().search(principal, camera_id, window, query.limit, query.cursor, now)


@api_route(
    officials_api,
    "/cameras/{camera_id}/gaps",
    summary="Why footage is missing: what the gateway dropped, in a window",
    auth=Auth.OFFICIAL,
    query="chalicelib.api.models:SpanQuery",
    answer="chalicelib.services.footage:GapList",
)
def camera_gaps(principal: Principal, camera_id: str, query: SpanQuery) -> GapList:
    return wiring.footage().gaps(principal, camera_id, query.window(wiring.now(), DEFAULT_SEARCH_SPAN))


@api_route(
    officials_api,
    "/clips/{clip_id}",
    summary="One clip's record",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.footage:ClipRecord",
)
def get_clip(principal: Principal, clip_id: str) -> ClipRecord:
    return wiring.footage().clip(principal, clip_id, wiring.now())


@api_route(
    officials_api,
    "/clips/{clip_id}/view",
    method="POST",
    summary="A short-lived signed URL for the clip, issued for a stated purpose (audited; so is a view asked "
    "for without a valid purpose)",
    auth=Auth.OFFICIAL,
    body="chalicelib.services.footage:ViewRequest",
    answer="chalicelib.services.footage:ViewGrant",
    errors=(409,),
)
def view_clip(principal: Principal, clip_id: str, read_body: Callable[[], ViewRequest]) -> ViewGrant:
    return wiring.footage().view(principal, clip_id, read_body, wiring.now())


@api_route(
    officials_api,
    "/audit/verify",
    summary="Recompute a site's audit chain against its locked digests of a window (default the last day, at most "
    "7 days); names the first break",
    auth=Auth.OFFICIAL,
    query="chalicelib.api.models:VerifyQuery",
    answer="chalicelib.services.audit_trail:Verification",
)
def verify_audit(principal: Principal, query: VerifyQuery) -> Verification:
    now = wiring.now()
    return wiring.audit_trail().verify(principal, query.site, query.window(now, DEFAULT_VERIFY_SPAN), now)


@api_route(
    officials_api,
    "/audit",
    summary="The audit trail of a site, newest first (dpo, auditor; site `-`: refused logins, auditors)",
    auth=Auth.OFFICIAL,
    query="chalicelib.api.models:AuditQuery",
    answer="chalicelib.services.audit_trail:AuditPage",
)
def read_audit(principal: Principal, query: AuditQuery) -> AuditPage:
    now = wiring.now()
    window = query.window(now, DEFAULT_SEARCH_SPAN)
    page = (query.limit, query.cursor)
    return wiring.audit_trail().events(principal, query.site, window, page, query.filters(), now)
