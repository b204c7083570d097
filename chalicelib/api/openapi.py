"""The OpenAPI 3 description of every route; a test keeps it and the app's route table equal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from chalicelib.domain.cases import HoldRequest, NewCase
from chalicelib.domain.catalog import NewCamera, NewGateway
from chalicelib.domain.clips import Registration
from chalicelib.domain.gaps import DropReport
from chalicelib.domain.retention import RetentionChange
from chalicelib.domain.shares import NewShare
from chalicelib.domain.subject_requests import Closing, ExportRequest, Extension, NewSubjectRequest
from chalicelib.services.cases import CloseRequest
from chalicelib.services.footage import ViewRequest
from chalicelib.services.governance import ErasureRequest
from chalicelib.services.intake import Heartbeat

OFFICIAL = "official"
GATEWAY = "gateway"
WINDOW = ("from", "to", "limit", "cursor")


@dataclass(frozen=True)
class Operation:
    summary: str
    auth: str | None
    body: type[BaseModel] | None = None
    status: int = 200
    query: tuple[str, ...] = field(default=())


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/health"): Operation("Liveness", None),
    ("GET", "/openapi.json"): Operation("This document", None),
    ("POST", "/gateway/clips"): Operation(
        "Register a clip; 201 with a signed upload, 200 with the same clip when registered before "
        "(no upload once `received`: the archive holds the bytes)",
        GATEWAY,
        Registration,
        201,
    ),
    ("GET", "/gateway/clips/{clip_id}"): Operation(
        "The state of one of this site's clips; `received` once S3 holds exactly the bytes registered", GATEWAY
    ),
    ("POST", "/gateway/heartbeat"): Operation("Report progress and health", GATEWAY, Heartbeat, 204),
    ("POST", "/gateway/clips/{clip_id}/multipart"): Operation(
        "Clips over 100 MB: start or resume a multipart upload; URLs for the parts not yet stored", GATEWAY
    ),
    ("POST", "/gateway/clips/{clip_id}/multipart/complete"): Operation(
        "Assemble the stored parts once all are there", GATEWAY
    ),
    ("POST", "/gateway/drops"): Operation(
        "Report clips dropped at the edge (full spool, too old, corrupt): recorded as gaps", GATEWAY, DropReport, 204
    ),
    ("GET", "/cameras/{camera_id}/gaps"): Operation(
        "Why footage is missing: what the gateway dropped, in a window", OFFICIAL, query=("from", "to")
    ),
    ("GET", "/sites"): Operation("The sites the caller may see", OFFICIAL),
    ("GET", "/sites/{site}/cameras"): Operation("A site's cameras with status and last clip time", OFFICIAL),
    ("POST", "/sites/{site}/cameras"): Operation("Add a camera (admin)", OFFICIAL, NewCamera, 201),
    ("GET", "/cameras/{camera_id}/clips"): Operation(
        "Indexed clips of a camera in a time window, newest first, with short-lived thumbnail URLs",
        OFFICIAL,
        query=(*WINDOW, "purpose"),
    ),
    ("GET", "/clips/{clip_id}"): Operation("One clip's record", OFFICIAL),
    ("POST", "/clips/{clip_id}/view"): Operation(
        "A short-lived signed URL for the clip, issued for a stated purpose", OFFICIAL, ViewRequest
    ),
    ("GET", "/audit"): Operation("The audit trail of a site (dpo, auditor)", OFFICIAL, query=("site", *WINDOW)),
    ("GET", "/audit/verify"): Operation(
        "Recompute a site's audit chain against its locked digests; names the first broken event",
        OFFICIAL,
        query=("site",),
    ),
    ("GET", "/public/sites/{site}/notice"): Operation(
        "The transparency notice: controller, purposes, legal basis, retention in force, DPO, rights", None
    ),
    ("GET", "/sites/{site}/retention"): Operation("The site's retention policy (dpo)", OFFICIAL),
    ("PUT", "/sites/{site}/retention"): Operation(
        "Change the retention policy: up to the legal maximum, a justification beyond 3 days (dpo)",
        OFFICIAL,
        RetentionChange,
    ),
    ("POST", "/clips/{clip_id}/erasure"): Operation(
        "Erase a clip (Art. 17): a tombstone stays; 409 while a case holds it (dpo)", OFFICIAL, ErasureRequest
    ),
    ("POST", "/cases"): Operation("Open a case (investigator)", OFFICIAL, NewCase, 201),
    ("GET", "/cases"): Operation("Open cases past their review date (dpo)", OFFICIAL, query=("site",)),
    ("GET", "/cases/{case_id}"): Operation("A case and the clips it holds", OFFICIAL),
    ("POST", "/cases/{case_id}/holds"): Operation(
        "Hold clips by id, or a camera's clips in a window (investigator)", OFFICIAL, HoldRequest
    ),
    ("DELETE", "/cases/{case_id}/holds/{clip_id}"): Operation("Release one hold (investigator)", OFFICIAL),
    ("POST", "/cases/{case_id}/close"): Operation(
        "Close the case, releasing its holds (investigator, dpo)", OFFICIAL, CloseRequest
    ),
    ("POST", "/shares"): Operation(
        "Request a share of clips held by a case, expiring within 7 days (investigator)", OFFICIAL, NewShare, 201
    ),
    ("GET", "/shares/{share_id}"): Operation("A share's record (investigator, dpo)", OFFICIAL),
    ("POST", "/shares/{share_id}/approval"): Operation(
        "Approve a share (dpo, never its requester); the recipient's link is in this answer only", OFFICIAL
    ),
    ("POST", "/shares/{share_id}/revocation"): Operation("Revoke a share at once (investigator, dpo)", OFFICIAL),
    ("GET", "/s/{token}"): Operation(
        "The recipient's manifest: signed URLs and sha256 per clip, until expiry or revocation (410 after)", None
    ),
    ("POST", "/subject-requests"): Operation(
        "Record a subject access request; the answer is due one month after receipt (dpo)",
        OFFICIAL,
        NewSubjectRequest,
        201,
    ),
    ("GET", "/subject-requests"): Operation("Open requests past their deadline (dpo)", OFFICIAL, query=("site",)),
    ("GET", "/subject-requests/{request_id}"): Operation("A request and the clips that match it (dpo)", OFFICIAL),
    ("POST", "/subject-requests/{request_id}/extension"): Operation(
        "Extend the deadline once by two months, with the reason (dpo)", OFFICIAL, Extension
    ),
    ("POST", "/subject-requests/{request_id}/close"): Operation("Close a request (dpo)", OFFICIAL, Closing),
    ("POST", "/subject-requests/{request_id}/exports"): Operation(
        "Export stills and an excerpt of a matching clip with other people masked; made asynchronously (dpo)",
        OFFICIAL,
        ExportRequest,
        202,
    ),
    ("GET", "/subject-requests/{request_id}/exports/{export_id}"): Operation(
        "An export's state; when ready, a short-lived download link, its manifest and sha256 (dpo)", OFFICIAL
    ),
    ("POST", "/gateways"): Operation("Create a gateway; its token is shown once (admin)", OFFICIAL, NewGateway, 201),
    ("GET", "/gateways"): Operation("Gateways of the caller's sites with their health (admin)", OFFICIAL),
    ("POST", "/gateways/{gateway_id}/revocation"): Operation("Revoke a gateway at once (admin)", OFFICIAL),
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


def _operation(method: str, path: str, op: Operation) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ] + [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in op.query]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    doc: dict[str, Any] = {
        "operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', path)}",
        "summary": op.summary,
        "parameters": parameters,
        "responses": {
            str(op.status): {"description": "success"},
            "400": {"description": "invalid request"} | error,
            "403": {"description": "refused (audited)"} | error,
            "404": {"description": "not found, or not yours to know of"} | error,
        },
    }
    if op.auth:
        doc["security"] = [{op.auth: []}]
    if op.body:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body.model_json_schema()}},
        }
    return doc


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), op in OPERATIONS.items():
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Safe Society footage archive",
            "version": "1",
            "description": "Interreg LLI-457 'Safe society': footage archive for Aizkraukle and Biržai.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA},
            "securitySchemes": {
                OFFICIAL: {"type": "http", "scheme": "bearer", "bearerFormat": "Cognito ID token (JWT)"},
                GATEWAY: {"type": "http", "scheme": "bearer", "bearerFormat": "<gateway_id>.<secret>"},
            },
        },
    }
