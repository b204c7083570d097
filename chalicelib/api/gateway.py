"""Routes for gateways: register clips (one or a batch), ask after them, report drops, heartbeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import WithStatus, api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.domain.clips import Registration
    from chalicelib.domain.gaps import DropReport
    from chalicelib.services.intake import (
        BatchAnswer,
        GatewayClipState,
        Heartbeat,
        MultipartAssembled,
        MultipartPlan,
        MultipartRequest,
        RegistrationBatch,
    )

gateway_api = Blueprint(__name__)


@api_route(
    gateway_api,
    "/gateway/clips",
    method="POST",
    summary="Register a clip; 201 with a signed upload, 200 with the same clip when registered before "
    "(no upload once `received`: the archive holds the bytes)",
    auth=Auth.GATEWAY,
    body="chalicelib.domain.clips:Registration",
    answer="chalicelib.services.intake:RegistrationAnswer",
    status=201,
    also={200: "registered before: the same clip (no upload once `received`)"},
    errors=(409,),
)
def register_clip(principal: Principal, body: Registration) -> WithStatus:
    registered = wiring.intake().register(principal, body, wiring.now())
    return WithStatus(registered.answer(), 201 if registered.created else 200)


@api_route(
    gateway_api,
    "/gateway/clips/batch",
    method="POST",
    summary="Register many clips in one request (a backlog; `clips` says how many at most): each answered in "
    "order with the status and body POST /gateway/clips would give it alone, its refusal (audited) its own",
    auth=Auth.GATEWAY,
    body="chalicelib.services.intake:RegistrationBatch",
    answer="chalicelib.services.intake:BatchAnswer",
)
def register_clips(principal: Principal, body: RegistrationBatch) -> BatchAnswer:
    return wiring.intake().register_batch(principal, body, wiring.now())


@api_route(
    gateway_api,
    "/gateway/clips/{clip_id}",
    summary="The state of one of this site's clips; `received` once S3 holds exactly the bytes registered",
    auth=Auth.GATEWAY,
    answer="chalicelib.services.intake:GatewayClipState",
)
def clip_state(principal: Principal, clip_id: str) -> GatewayClipState:
    return wiring.intake().gateway_report(principal, clip_id)


@api_route(
    gateway_api,
    "/gateway/clips/{clip_id}/multipart",
    method="POST",
    summary="Clips over 100 MB: start or resume a multipart upload with each part's sha256; URLs for the parts "
    "not yet stored, each part's sha256 signed in",
    auth=Auth.GATEWAY,
    body="chalicelib.services.intake:MultipartRequest",
    answer="chalicelib.services.intake:MultipartPlan",
    errors=(409,),
)
def start_multipart(principal: Principal, clip_id: str, body: MultipartRequest) -> MultipartPlan:
    return wiring.intake().multipart(principal, clip_id, body, wiring.now())


@api_route(
    gateway_api,
    "/gateway/clips/{clip_id}/multipart/complete",
    method="POST",
    summary="Assemble the stored parts once all are there",
    auth=Auth.GATEWAY,
    answer="chalicelib.services.intake:MultipartAssembled",
    errors=(409,),
)
def complete_multipart(principal: Principal, clip_id: str) -> MultipartAssembled:
    return wiring.intake().complete_multipart(principal, clip_id)


@api_route(
    gateway_api,
    "/gateway/drops",
    method="POST",
    summary="Report clips dropped at the edge (full spool, too old, corrupt): recorded as gaps",
    auth=Auth.GATEWAY,
    body="chalicelib.domain.gaps:DropReport",
    status=204,
)
def report_drops(principal: Principal, body: DropReport) -> None:
    wiring.intake().report_drops(principal, body, wiring.now())


@api_route(
    gateway_api,
    "/gateway/heartbeat",
    method="POST",
    summary="Report progress and health",
    auth=Auth.GATEWAY,
    body="chalicelib.services.intake:Heartbeat",
    status=204,
)
def heartbeat(principal: Principal, body: Heartbeat) -> None:
    wiring.intake().heartbeat(principal, body, wiring.now())
