"""API Gateway's own answers (requests that never reach the functions), as the template's GatewayResponses set them.

The local API server answers with these very templates, so that a client sees locally what it gets on AWS;
the packaging check renders each to make sure every one of them is a JSON `{"error", "message"}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# The response types a client of this API meets: no credentials, refused credentials, no such route, and the
# families API Gateway falls back to for the rest (throttling, authorizer failures, integration errors).
ANSWERED_BY_THE_GATEWAY = (
    "UNAUTHORIZED",
    "ACCESS_DENIED",
    "MISSING_AUTHENTICATION_TOKEN",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
)


def render(responses: Mapping[str, Any], response_type: str, status: int, message: str) -> tuple[int, bytes]:
    """The status and JSON body API Gateway sends for `response_type` (its own default status `status` and
    `$context.error.messageString` `message`), from the type's own gateway response or its family's."""
    spec = responses.get(response_type) or responses["DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"]
    body = str(spec["ResponseTemplates"]["application/json"])
    body = body.replace("$context.error.messageString", json.dumps(message))
    body = body.replace("$context.error.responseType", response_type)
    return int(spec.get("StatusCode", status)), body.encode()


def problems(responses: Mapping[str, Any]) -> list[str]:
    """Each gateway answer that would not be a JSON {"error", "message"} (or is missing)."""
    found = []
    for response_type in ANSWERED_BY_THE_GATEWAY:
        try:
            _, body = render(responses, response_type, 500 if response_type == "DEFAULT_5XX" else 400, 'say "hi"')
            answer = json.loads(body)
        except (KeyError, TypeError, ValueError) as error:
            found.append(f"RestAPI: gateway response {response_type} is not a JSON template ({error!r})")
            continue
        if not isinstance(answer, dict) or set(answer) != {"error", "message"}:
            found.append(f"RestAPI: gateway response {response_type} answers {answer!r}, not {{error, message}}")
    return found
