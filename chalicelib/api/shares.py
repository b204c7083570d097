"""Routes for shares: investigators request, the dpo approves, the recipient's link serves the manifest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.domain.redaction import NewShareRedaction, Redaction, Review
    from chalicelib.domain.shares import NewShare, Share
    from chalicelib.services.redactions import RedactionView
    from chalicelib.services.shares import ApprovedShare, SharedManifest, ShareLink, ShareList, ShareQuery

shares_api = Blueprint(__name__)


@api_route(
    shares_api,
    "/shares",
    method="POST",
    summary="Request a share of clips held by a case, expiring within 7 days (investigator)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.shares:NewShare",
    answer="chalicelib.domain.shares:ShareView",
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
    query="chalicelib.services.shares:ShareQuery",
    answer="chalicelib.services.shares:ShareList",
)
def list_shares(principal: Principal, query: ShareQuery) -> ShareList:
    return wiring.shares().shares_of_site(principal, query)


@api_route(
    shares_api,
    "/shares/{share_id}",
    summary="A share's record (investigator, dpo)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.domain.shares:ShareView",
)
def read_share(principal: Principal, share_id: str) -> Share:
    return wiring.shares().share(principal, share_id)


@api_route(
    shares_api,
    "/shares/{share_id}/approval",
    method="POST",
    summary="Approve a share (dpo, never its requester); the recipient's link is in this answer only. A redacted "
    "share is refused (409) until its redaction is reviewed; approved, it delivers the masked export only",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.shares:ApprovedShare",
    errors=(409,),
)
def approve_share(principal: Principal, share_id: str) -> ApprovedShare:
    return wiring.shares().approve(principal, share_id, wiring.now())


@api_route(
    shares_api,
    "/shares/{share_id}/redactions",
    method="POST",
    summary="Make a requested share a redacted one: find the faces, people, plates and moving things of one of its "
    "clips' excerpt, for review; the share then delivers that masked excerpt (and stills) only, never a clip (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.redaction:NewShareRedaction",
    answer="chalicelib.domain.redaction:Redaction",
    status=202,
    errors=(409,),
)
def start_share_redaction(principal: Principal, share_id: str, body: NewShareRedaction) -> Redaction:
    return wiring.shares().start_redaction(principal, share_id, body, wiring.now())


@api_route(
    shares_api,
    "/shares/{share_id}/redactions/{redaction_id}",
    summary="A share's redaction: its tracks, each with its time span and a short-lived link to its thumbnails (dpo)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.redactions:RedactionView",
)
def read_share_redaction(principal: Principal, share_id: str, redaction_id: str) -> RedactionView:
    return wiring.shares().redaction(principal, share_id, redaction_id, wiring.now())


@api_route(
    shares_api,
    "/shares/{share_id}/redactions/{redaction_id}/review",
    method="PUT",
    summary="Decide what a redacted share masks: for the police every track unless kept, plus boxes added by hand; "
    "for the public (press) everyone. Stored and audited; no longer once the share is approved (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.redaction:Review",
    answer="chalicelib.domain.redaction:Redaction",
    errors=(409,),
)
def review_share_redaction(principal: Principal, share_id: str, redaction_id: str, body: Review) -> Redaction:
    return wiring.shares().review_redaction(principal, share_id, redaction_id, body, wiring.now())


@api_route(
    shares_api,
    "/shares/{share_id}/revocation",
    method="POST",
    summary="Revoke a share at once (investigator, dpo); 409 if it is revoked already",
    auth=Auth.OFFICIAL,
    answer="chalicelib.domain.shares:ShareView",
    errors=(409,),
)
def revoke_share(principal: Principal, share_id: str) -> Share:
    return wiring.shares().revoke(principal, share_id, wiring.now())


@api_route(
    shares_api,
    "/share-manifest",
    method="POST",
    summary="The recipient's manifest: signed URLs and sha256 per clip the case still holds (a redacted share: "
    "its masked export's zip instead, never a clip), until expiry, revocation or the case's closing (410 after). "
    "The token travels in the body, never in a URL.",
    body="chalicelib.services.shares:ShareLink",
    answer="chalicelib.services.shares:SharedManifest",
    errors=(410,),
)
def use_share(body: ShareLink) -> SharedManifest:
    return wiring.shares().use(body.token, wiring.now())
