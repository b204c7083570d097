"""Routes for shares: investigators request, the dpo approves, the recipient's link serves the manifest."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal
from chalicelib.domain.shares import NewShare, Share, ShareView
from chalicelib.services.shares import ApprovedShare, SharedManifest, ShareLink, ShareList, ShareQuery

shares_api = Blueprint(__name__)


@api_route(
    shares_api,
    "/shares",
    method="POST",
    summary="Request a share of clips held by a case, expiring within 7 days (investigator)",
    auth=Auth.OFFICIAL,
    body=NewShare,
    answer=ShareView,
    status=201,
    errors=(409,),
)
def request_share(principal: Principal, body: NewShare) -> Share:
    return wiring.shares().request(principal, body, wiring.now())


@api_route(
    shares_api,
    "/shares",
    summary="A site's shares, newest first; `status=requested`: the approval queue (investigator, dpo)",
    auth=Auth.OFFICIAL,
    query=ShareQuery,
    answer=ShareList,
)
def list_shares(principal: Principal, query: ShareQuery) -> ShareList:
    return wiring.shares().shares_of_site(principal, query)


@api_route(
    shares_api,
    "/shares/{share_id}",
    summary="A share's record (investigator, dpo)",
    auth=Auth.OFFICIAL,
    answer=ShareView,
)
def read_share(principal: Principal, share_id: str) -> Share:
    return wiring.shares().share(principal, share_id)


@api_route(
    shares_api,
    "/shares/{share_id}/approval",
    method="POST",
    summary="Approve a share (dpo, never its requester); the recipient's link is in this answer only",
    auth=Auth.OFFICIAL,
    answer=ApprovedShare,
    errors=(409,),
)
def approve_share(principal: Principal, share_id: str) -> ApprovedShare:
    return wiring.shares().approve(principal, share_id, wiring.now())


@api_route(
    shares_api,
    "/shares/{share_id}/revocation",
    method="POST",
    summary="Revoke a share at once (investigator, dpo)",
    auth=Auth.OFFICIAL,
    answer=ShareView,
)
def revoke_share(principal: Principal, share_id: str) -> Share:
    return wiring.shares().revoke(principal, share_id, wiring.now())


@api_route(
    shares_api,
    "/share-manifest",
    method="POST",
    summary="The recipient's manifest: signed URLs and sha256 per clip the case still holds, until expiry, "
    "revocation or the case's closing (410 after). The token travels in the body, never in a URL.",
    body=ShareLink,
    answer=SharedManifest,
    errors=(410,),
)
def use_share(body: ShareLink) -> SharedManifest:
    return wiring.shares().use(body.token, wiring.now())
