"""Free text on the record (chalicelib.domain.text): nothing that forges or hides text, and something said."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from chalicelib.domain.cases import NewCase
from chalicelib.domain.catalog import NewCamera
from chalicelib.domain.retention import RetentionChange
from chalicelib.domain.shares import NewShare
from chalicelib.domain.subject_requests import Closing, Extension, NewSubjectRequest
from chalicelib.services.cases import CloseRequest
from chalicelib.services.footage import ViewRequest
from chalicelib.services.governance import ErasureRequest

# Each request model with free text, a valid body, and the field that goes on record.
VALID: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (ViewRequest, {"purpose": "incident at the square"}, "purpose"),
    (
        NewShare,
        {
            "case_id": "c1",
            "clip_ids": ["x"],
            "recipient": "State Police",
            "purpose": "evidence for LV-1",
            "expires_at": "2026-12-01T00:00:00Z",
        },
        "purpose",
    ),
    (NewCase, {"site_id": "aizkraukle", "reference": "LV-1", "reason": "vandalism at the square"}, "reason"),
    (CloseRequest, {"reason": "proceedings ended"}, "reason"),
    (
        NewSubjectRequest,
        {
            "site_id": "birzai",
            "camera_ids": ["birzai-castle"],
            "start": "2026-11-01T10:00:00Z",
            "end": "2026-11-01T11:00:00Z",
            "received": "2026-11-02",
            "description": "red coat, walking a dog",
        },
        "description",
    ),
    (Extension, {"reason": "many requests at once"}, "reason"),
    (Closing, {"outcome": "export handed over"}, "outcome"),
    (RetentionChange, {"days": 7, "justification": "incidents are reported within a week"}, "justification"),
    (ErasureRequest, {"reason": "asked by the subject"}, "reason"),
]
IDS = [f"{model.__name__}.{field}" for model, _, field in VALID]
FORGING = {
    "right-to-left override": "erase \u202ecod.exe",
    "left-to-right isolate": "view \u2066hidden\u2069 now",
    "right-to-left mark": "purpose\u200f for sure",
    "NUL": "purpose\x00 for sure",
    "escape (terminal colours)": "purpose \x1b[31mred\x1b[0m",
    "carriage return (line forging)": "purpose ok\rclip.erase allowed",
    "C1 control": "purpose \x85 next",
}
SAYING_NOTHING = {
    "a dot": ".....",
    "a lone zero-width space": "\u200b\u200b\u200b\u200b\u200b",
    "punctuation": "-- ! --",
    "two letters padded": "a . b ..",
}


@pytest.mark.parametrize(("model", "body", "field"), VALID, ids=IDS)
def test_the_valid_body_is_accepted(model: type[BaseModel], body: dict[str, Any], field: str) -> None:
    assert getattr(model.model_validate(body), field) == body[field]


@pytest.mark.parametrize(("model", "body", "field"), VALID, ids=IDS)
@pytest.mark.parametrize("text", FORGING.values(), ids=FORGING)
def test_control_and_bidirectional_characters_are_refused(
    model: type[BaseModel], body: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(ValidationError, match=r"control character \(U\+[0-9A-F]{4}\) at position"):
        model.model_validate(body | {field: text})


@pytest.mark.parametrize(("model", "body", "field"), VALID, ids=IDS)
@pytest.mark.parametrize("text", SAYING_NOTHING.values(), ids=SAYING_NOTHING)
def test_text_that_says_nothing_is_refused(model: type[BaseModel], body: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationError, match="must say something"):
        model.model_validate(body | {field: text})


@pytest.mark.parametrize(
    "text", ["Pārbaude pie strūklakas", "Incidentas prie pilies tilto", "line one\nline two\twith a tab", "call 112"]
)
def test_every_script_line_breaks_and_numbers_say_something(text: str) -> None:
    assert ErasureRequest(reason=text).reason == text


def test_text_is_trimmed_before_it_is_judged() -> None:
    assert ViewRequest(purpose="   checking the square   ").purpose == "checking the square"
    with pytest.raises(ValidationError):
        ViewRequest(purpose="   .   ")


def test_an_empty_justification_stays_allowed_where_the_rule_allows_none() -> None:
    assert RetentionChange(days=3).justification == ""


@pytest.mark.parametrize("field", ["name", "location"])
def test_names_and_places_refuse_forging_characters_but_may_be_short(field: str) -> None:
    camera = {"camera_id": "aizkraukle-new", "name": "A1", "location": "Gate 2"}
    assert NewCamera.model_validate(camera)
    with pytest.raises(ValidationError, match="bidirectional control character"):
        NewCamera.model_validate(camera | {field: "Gate \u202e2"})


def test_the_schema_names_the_refused_characters_for_clients() -> None:
    pattern = ViewRequest.model_json_schema()["properties"]["purpose"]["pattern"]
    assert "\\u202e" in pattern
    assert "\\u0000-\\u0008" in pattern
