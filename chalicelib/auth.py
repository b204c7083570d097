"""Credentials → Principal: Cognito ID tokens for officials, hashed secrets for gateways."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain.principal import OFFICIAL_ROLES, Principal, Role

if TYPE_CHECKING:
    from chalicelib.domain.officials import OfficialAccount
    from chalicelib.store.catalog import Catalog

SITES_CLAIM = "custom:sites"


class CredentialsRejected(Exception):
    """The credentials prove nothing; the reason is for the audit trail, not for the caller."""


def bearer_token(header: str) -> str:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CredentialsRejected("no bearer token")
    return token.strip()


class OfficialTokenVerifier:
    """Verifies Cognito ID tokens against the pool's published keys (RS256 only)."""

    def __init__(self, jwks_url: str, issuer: str, audience: str) -> None:
        # Imported here: PyJWT brings in `cryptography` (a quarter of the API's import time), which only the
        # officials' authorizer needs, not the gateways' nor the event handlers.
        import jwt

        # PyJWKClient caches the key set, so a warm function fetches it once.
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=5)
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> Principal:
        import jwt

        try:
            signing_key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.PyJWKClientConnectionError:
            raise  # our outage, not a bad token: logged as such by the authorizer
        except jwt.PyJWTError as exc:
            raise CredentialsRejected(f"token not valid: {exc}") from exc
        if claims["token_use"] != "id":
            raise CredentialsRejected("not an ID token")
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Role from exactly one Cognito group; sites from the custom claim."""
    groups = claims.get("cognito:groups", [])
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        raise CredentialsRejected("cognito:groups is not a list of names")
    roles = {Role(group) for group in groups if group in OFFICIAL_ROLES}
    if len(roles) != 1:
        # Two roles in one account would defeat separation of duties.
        raise CredentialsRejected(f"account must hold exactly one role, holds {len(roles)}")
    sites = frozenset(s.strip() for s in str(claims.get(SITES_CLAIM, "")).split(",") if s.strip())
    user = claims.get("cognito:username") or claims["sub"]
    return Principal(id=f"user:{user}", role=roles.pop(), sites=sites)


def check_account_current(principal: Principal, account: OfficialAccount | None) -> None:
    if account is None:
        raise CredentialsRejected("the account no longer exists")
    if not account.enabled:
        raise CredentialsRejected("the account is disabled")
    if account.role != principal.role or account.sites != principal.sites:
        raise CredentialsRejected("the account's role or sites changed since the token was issued: log in again")


class GatewayAuthenticator:
    """Checks `<gateway_id>.<secret>` against the stored hash, on every call (revocation is immediate)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def verify(self, token: str) -> Principal:
        # Beside the catalog's models: imported by the gateways' authorizer, not by import app.
        from chalicelib.domain.catalog import secret_matches, split_gateway_token

        parts = split_gateway_token(token)
        if parts is None:
            raise CredentialsRejected("malformed gateway token")
        gateway_id, secret = parts
        gateway = self._catalog.get_gateway(gateway_id)
        if gateway is None or not secret_matches(secret, gateway.secret_sha256):
            raise CredentialsRejected("unknown gateway or wrong secret")
        if gateway.revoked:
            raise CredentialsRejected(f"gateway {gateway_id} revoked")
        return Principal(id=f"gateway:{gateway_id}", role=Role.GATEWAY, sites=frozenset({gateway.site_id}))
