"""The two custom authorizers: Cognito ID tokens (officials) and gateway tokens.

Chalice's CognitoUserPoolAuthorizer is not enforced by `chalice local`, so tokens are verified here,
in code that runs the same locally and as the API Gateway authorizer function.
Results are never cached (ttl 0): a revoked gateway or an expired token is refused at once.
A refusal writes nothing to the audit trail here: API Gateway logs it (as it logs the 401s it answers
without asking us), and those refusals are counted per source and folded into the trail
(chalicelib/domain/refusals.py), so a flood of garbage tokens does not queue on the audit chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest, ChaliceAuthorizer

from chalicelib import wiring
from chalicelib.auth import CredentialsRejected, bearer_token, check_account_current
from chalicelib.domain.principal import Principal
from chalicelib.observability import logger, observed


class ObservedAuthorizer(ChaliceAuthorizer):
    """An authorizer's invocation under Powertools, as app.py's middleware puts every other handler's (Chalice
    runs no middleware around authorizers): its Lambda context in the log lines, metrics flushed with the cold
    start, traced where tracing is on."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        authorize = super().__call__
        result: dict[str, Any] = observed(event, lambda auth_event: authorize(auth_event, context), context)
        return result


class AuthorizersBlueprint(Blueprint):
    """A blueprint whose authorizers are `ObservedAuthorizer`s: the objects Lambda and `chalice local` call."""

    def _wrap_handler(self, handler_type: str, handler_name: str, user_handler: Any) -> Any:
        if handler_type == "authorizer":
            return ObservedAuthorizer(handler_name, user_handler)
        return super()._wrap_handler(handler_type, handler_name, user_handler)


authorizers = AuthorizersBlueprint(__name__)


@authorizers.authorizer(ttl_seconds=0)
def official_auth(auth_request: AuthRequest) -> AuthResponse:
    return _authorize(auth_request, _official)


def _official(token: str) -> Principal:
    """A valid token of an account that is, as the pool says now, enabled and holding that role and those sites:
    a disabled, deleted or changed account is refused without waiting for its tokens to expire."""
    principal = wiring.official_verifier().verify(token)
    account = wiring.account_states().current(principal.id.removeprefix("user:"))
    check_account_current(principal, account)
    return principal


@authorizers.authorizer(ttl_seconds=0)
def gateway_auth(auth_request: AuthRequest) -> AuthResponse:
    return _authorize(auth_request, lambda token: wiring.gateway_authenticator().verify(token))


def _authorize(auth_request: AuthRequest, verify: Callable[[str], Principal]) -> AuthResponse:
    try:
        principal = verify(bearer_token(auth_request.token or ""))
    except CredentialsRejected as rejection:
        return _refuse(auth_request, str(rejection))
    except Exception:
        # An authorizer that raises gets no answer at all (API Gateway 500, chalice local drops the
        # connection): refuse instead, and leave the cause in the log.
        logger.exception("authorizer failed")
        return _refuse(auth_request, "credentials could not be checked")
    return AuthResponse(routes=["*"], principal_id=principal.id, context=principal.to_context())


def _refuse(auth_request: AuthRequest, reason: str) -> AuthResponse:
    logger.info("credentials refused", extra={"route": _route_of(auth_request.method_arn), "reason": reason})
    return AuthResponse(routes=[], principal_id="anonymous")


def _route_of(method_arn: str) -> str:
    """`GET /clips/X` from `arn:aws:execute-api:region:account:api/stage/GET/clips/X`."""
    resource = method_arn.split(":", 5)[-1]
    parts = resource.split("/", 3)
    return f"{parts[2]} /{parts[3]}" if len(parts) == 4 else resource
