"""Routes for subject access requests (dpo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.domain.redaction import NewRedaction, Redaction, Review
    from chalicelib.domain.subject_requests import (
        Closing,
        Export,
        ExportRequest,
        Extension,
        NewSubjectRequest,
        SubjectRequest,
    )
    from chalicelib.services.redactions import RedactionView
    from chalicelib.services.subject_access import ExportState, RequestList, RequestQuery, SubjectRequestDetail

subject_requests_api = Blueprint(__name__)


@api_route(
    subject_requests_api,
    "/subject-requests",
    method="POST",
    summary="Record a subject access request; the answer is due one month after receipt (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.subject_requests:NewSubjectRequest",
    answer="chalicelib.domain.subject_requests:SubjectRequest",
    status=201,
)
def open_subject_request(principal: Principal, body: NewSubjectRequest) -> SubjectRequest:
    return wiring.subject_access().open(principal, body, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests",
    summary="A site's open, overdue or closed requests, earliest deadline first (dpo)",
    auth=Auth.OFFICIAL,
    query="chalicelib.services.subject_access:RequestQuery",
    answer="chalicelib.services.subject_access:RequestList",
)
def list_subject_requests(principal: Principal, query: RequestQuery) -> RequestList:
    return wiring.subject_access().requests_of_site(principal, query, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}",
    summary="A request and the clips that match it (dpo)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.subject_access:SubjectRequestDetail",
)
def read_subject_request(principal: Principal, request_id: str) -> SubjectRequestDetail:
    return wiring.subject_access().request(principal, request_id, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/extension",
    method="POST",
    summary="Extend the deadline once by two months, with the reason (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.subject_requests:Extension",
    answer="chalicelib.domain.subject_requests:SubjectRequest",
    errors=(409,),
)
def extend_subject_request(principal: Principal, request_id: str, body: Extension) -> SubjectRequest:
    return wiring.subject_access().extend(principal, request_id, body, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/close",
    method="POST",
    summary="Close a request (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.subject_requests:Closing",
    answer="chalicelib.domain.subject_requests:SubjectRequest",
    errors=(409,),
)
def close_subject_request(principal: Principal, request_id: str, body: Closing) -> SubjectRequest:
    return wiring.subject_access().close(principal, request_id, body, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/exports",
    method="POST",
    summary=(
        "Export stills and an excerpt of a matching clip masked as its reviewed redaction decides; refused (409) "
        "without one; made asynchronously (dpo)"
    ),
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.subject_requests:ExportRequest",
    answer="chalicelib.domain.subject_requests:ExportView",
    status=202,
    errors=(409,),
)
def export_footage(principal: Principal, request_id: str, body: ExportRequest) -> Export:
    return wiring.subject_access().export(principal, request_id, body, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/exports/{export_id}",
    summary="An export's state; when ready, a short-lived download link, its manifest and sha256 (dpo)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.subject_access:ExportState",
)
def export_status(principal: Principal, request_id: str, export_id: str) -> ExportState:
    return wiring.subject_access().export_status(principal, request_id, export_id, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/redactions",
    method="POST",
    summary="Find the faces, people, plates and moving things of a matching clip's excerpt, for review (dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.redaction:NewRedaction",
    answer="chalicelib.domain.redaction:Redaction",
    status=202,
    errors=(409,),
)
def start_redaction(principal: Principal, request_id: str, body: NewRedaction) -> Redaction:
    return wiring.redactions().start(principal, request_id, body, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/redactions/{redaction_id}",
    summary="A redaction's tracks, each with its time span and a short-lived link to its thumbnails (dpo)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.redactions:RedactionView",
)
def read_redaction(principal: Principal, request_id: str, redaction_id: str) -> RedactionView:
    return wiring.redactions().view(principal, request_id, redaction_id, wiring.now())


@api_route(
    subject_requests_api,
    "/subject-requests/{request_id}/redactions/{redaction_id}/review",
    method="PUT",
    summary=(
        "Decide what is masked: every track unless kept or the requester's (marked by a click), plus boxes "
        "added by hand; for a public release everyone. Stored and audited (dpo)"
    ),
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.redaction:Review",
    answer="chalicelib.domain.redaction:Redaction",
    errors=(409,),
)
def review_redaction(principal: Principal, request_id: str, redaction_id: str, body: Review) -> Redaction:
    return wiring.redactions().review(principal, request_id, redaction_id, body, wiring.now())
