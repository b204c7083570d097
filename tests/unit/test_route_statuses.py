"""Every status a route answers is one its contract declares (chalicelib.api.http.api_route checks each answer):
an undeclared one is logged as an error, naming the route and status, while the caller still gets the true answer
(a gap in the document is not theirs to pay for with a 500)."""

from __future__ import annotations

import json

import pytest
from chalice import Blueprint, Chalice
from chalice.test import Client

from chalicelib.api import contract
from chalicelib.api.http import WithStatus, api_route
from chalicelib.errors import Conflict
from chalicelib.services.shares import ShareUnavailable


@pytest.fixture
def routes(monkeypatch):
    """A blueprint of test routes whose contracts stay out of the archive's document."""
    monkeypatch.setattr(contract, "CONTRACTS", {})
    return Blueprint(__name__)


def served(blueprint: Blueprint) -> Client:
    app = Chalice(app_name="statuses")
    app.register_blueprint(blueprint)
    return Client(app)


UNDECLARED = "an answer its contract does not declare"


def undeclared_lines(logged_lines) -> list[tuple[str, int]]:
    return [(line["route"], line["status"]) for line in logged_lines() if line["message"] == UNDECLARED]


def test_a_conflict_the_contract_declares_is_answered_as_such(routes):
    @api_route(routes, "/declared", method="POST", summary="declares 409", errors=(409,))
    def declared() -> None:
        raise Conflict("it changed meanwhile")

    with served(routes) as client:
        answer = client.http.post("/declared")

    assert (answer.status_code, json.loads(answer.body)["error"]) == (409, "conflict")


def test_an_error_the_contract_does_not_declare_is_logged_and_still_answered(routes, logged_lines):
    @api_route(routes, "/undeclared", method="POST", summary="declares no 409")
    def undeclared() -> None:
        raise Conflict("it changed meanwhile")

    with served(routes) as client:
        answer = client.http.post("/undeclared")

    assert answer.status_code == 409
    assert undeclared_lines(logged_lines) == [("POST /undeclared", 409)]


def test_a_refusal_with_its_own_status_must_be_declared_too(routes, monkeypatch, logged_lines):
    monkeypatch.setattr("chalicelib.api.http._audit_refusal", lambda request, refusal: None)

    @api_route(routes, "/gone", method="POST", summary="a link, revoked", errors=(410,))
    def gone() -> None:
        raise ShareUnavailable("this link was revoked", action="share.use", site="")

    @api_route(routes, "/gone-undeclared", method="POST", summary="a link, revoked, 410 not declared")
    def gone_undeclared() -> None:
        raise ShareUnavailable("this link was revoked", action="share.use", site="")

    with served(routes) as client:
        assert client.http.post("/gone").status_code == 410
        assert undeclared_lines(logged_lines) == []
        assert client.http.post("/gone-undeclared").status_code == 410
    assert undeclared_lines(logged_lines) == [("POST /gone-undeclared", 410)]


def test_a_second_success_status_must_be_declared_with_what_it_means(routes, logged_lines):
    @api_route(routes, "/again", method="POST", summary="201, or 200 again", status=201, also={200: "before"})
    def again() -> WithStatus:
        return WithStatus(None, 200)

    @api_route(routes, "/surprise", method="POST", summary="201 only", status=201)
    def surprise() -> WithStatus:
        return WithStatus(None, 200)

    with served(routes) as client:
        assert client.http.post("/again").status_code == 200
        assert undeclared_lines(logged_lines) == []
        assert client.http.post("/surprise").status_code == 200
    assert undeclared_lines(logged_lines) == [("POST /surprise", 200)]
