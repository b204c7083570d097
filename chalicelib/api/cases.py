"""Routes for cases (legal holds)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.domain.cases import Case, HoldRequest, NewCase
    from chalicelib.services.cases import CaseDetail, CaseList, CaseQuery, CloseRequest, HoldResult, ReleaseResult

cases_api = Blueprint(__name__)


@api_route(
    cases_api,
    "/cases",
    method="POST",
    summary="Open a case (investigator)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.cases:NewCase",
    answer="chalicelib.domain.cases:Case",
    status=201,
)
def open_case(principal: Principal, body: NewCase) -> Case:
    return wiring.cases().open(principal, body, wiring.now())


@api_route(
    cases_api,
    "/cases",
    summary="A site's open or closed cases (investigator, dpo), or the open ones past their review date (dpo)",
    auth=Auth.OFFICIAL,
    query="chalicelib.services.cases:CaseQuery",
    answer="chalicelib.services.cases:CaseList",
)
def list_cases(principal: Principal, query: CaseQuery) -> CaseList:
    return wiring.cases().cases_of_site(principal, query, wiring.now())


@api_route(
    cases_api,
    "/cases/{case_id}",
    summary="A case and the clips it holds",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.cases:CaseDetail",
)
def read_case(principal: Principal, case_id: str) -> CaseDetail:
    return wiring.cases().case(principal, case_id)


@api_route(
    cases_api,
    "/cases/{case_id}/holds",
    method="POST",
    summary="Hold clips by id, or a camera's clips in a window (investigator)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.cases:HoldRequest",
    answer="chalicelib.services.cases:HoldResult",
    errors=(409,),
)
def hold_clips(principal: Principal, case_id: str, body: HoldRequest) -> HoldResult:
    return wiring.cases().hold(principal, case_id, body, wiring.now())


@api_route(
    cases_api,
    "/cases/{case_id}/holds/{clip_id}",
    method="DELETE",
    summary="Release one hold (investigator)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.cases:ReleaseResult",
)
def release_hold(principal: Principal, case_id: str, clip_id: str) -> ReleaseResult:
    return wiring.cases().release(principal, case_id, clip_id, wiring.now())


@api_route(
    cases_api,
    "/cases/{case_id}/close",
    method="POST",
    summary="Close the case, releasing its holds (investigator, dpo)",
    auth=Auth.OFFICIAL,
    body="chalicelib.services.cases:CloseRequest",
    answer="chalicelib.domain.cases:Case",
    errors=(409,),
)
def close_case(principal: Principal, case_id: str, body: CloseRequest) -> Case:
    return wiring.cases().close(principal, case_id, body, wiring.now())
