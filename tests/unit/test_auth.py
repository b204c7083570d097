"""Official ID tokens checked against a JWKS served here, and bearer headers (chalicelib.auth)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chalicelib.auth import CredentialsRejected, OfficialTokenVerifier, bearer_token
from chalicelib.domain.principal import Principal, Role

KID = "pool-key-1"
CLIENT_ID = "5example0client0id"
ISSUER = "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_Example"
DROP = object()


@pytest.fixture(scope="module")
def pool_key() -> rsa.RSAPrivateKey:
    """The user pool's signing key, whose public half the JWKS publishes."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def intruder_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(pool_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """Serve the pool's JWKS over HTTP on a free local port for the module's tests."""
    jwk = RSAAlgorithm.to_jwk(pool_key.public_key(), as_dict=True) | {"kid": KID, "alg": "RS256", "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def verifier(jwks_url: str) -> OfficialTokenVerifier:
    """One verifier, as in a warm function: it fetches the key set once and caches it."""
    return OfficialTokenVerifier(jwks_url, ISSUER, CLIENT_ID)


def id_claims(**changes: Any) -> dict[str, Any]:
    """A Cognito ID token's claims for an operator of Aizkraukle; DROP removes a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "3f1c9a52-0000-4000-8000-000000000001",
        "aud": CLIENT_ID,
        "iss": ISSUER,
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
        "cognito:username": "ilze",
        "cognito:groups": ["operator"],
        "custom:sites": "aizkraukle",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not DROP}


def signed(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str = KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None = None) -> str:
    """A JWT built without PyJWT, which refuses to produce the forgeries under test."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{_b64(signature)}"


# Accepted


def test_valid_id_token_accepted(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    token = signed(id_claims(**{"custom:sites": "aizkraukle, birzai"}), pool_key)
    assert verifier.verify(token) == Principal(
        id="user:ilze", role=Role.OPERATOR, sites=frozenset({"aizkraukle", "birzai"})
    )


def test_role_taken_from_the_one_official_group(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    # Given an account in one role group and in a group that is no role
    token = signed(id_claims(**{"cognito:groups": ["newsletter", "dpo"]}), pool_key)
    assert verifier.verify(token).role == Role.DPO


def test_principal_id_falls_back_to_sub(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    token = signed(id_claims(**{"cognito:username": DROP}), pool_key)
    assert verifier.verify(token).id == "user:3f1c9a52-0000-4000-8000-000000000001"


def test_token_without_sites_grants_no_site(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    assert verifier.verify(signed(id_claims(**{"custom:sites": DROP}), pool_key)).sites == frozenset()


# Refused: claims


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": int(time.time()) - 60}, id="expired"),
        pytest.param({"aud": "another-app-client"}, id="wrong_audience"),
        pytest.param({"iss": "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_Other"}, id="wrong_issuer"),
        pytest.param({"iss": ISSUER + "/"}, id="issuer_with_trailing_slash"),
        pytest.param({"token_use": "access"}, id="access_token"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not_yet_valid"),
        pytest.param({"iat": int(time.time()) + 3600}, id="issued_in_future"),
        pytest.param({"exp": DROP}, id="missing_exp"),
        pytest.param({"iat": DROP}, id="missing_iat"),
        pytest.param({"aud": DROP}, id="missing_audience"),
        pytest.param({"token_use": DROP}, id="missing_token_use"),
        pytest.param({"cognito:groups": ["operator", "dpo"]}, id="two_role_groups"),
        pytest.param({"cognito:groups": ["newsletter"]}, id="no_role_group"),
        pytest.param({"cognito:groups": DROP}, id="no_groups"),
        pytest.param({"cognito:groups": ["gateway"]}, id="gateway_group"),
        pytest.param({"cognito:groups": ["system"]}, id="system_group"),
    ],
)
def test_token_with_unacceptable_claims_refused(
    verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey, changes: dict[str, Any]
) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(signed(id_claims(**changes), pool_key))


def test_token_with_groups_not_a_list_refused(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(signed(id_claims(**{"cognito:groups": 5}), pool_key))


# Refused: signature and algorithm


def test_token_signed_by_another_key_with_same_kid_refused(
    verifier: OfficialTokenVerifier, intruder_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(signed(id_claims(), intruder_key))


def test_token_with_unknown_kid_refused(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(signed(id_claims(), pool_key, kid="pool-key-2"))


def test_token_without_kid_refused(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(jwt.encode(id_claims(), pool_key, algorithm="RS256"))


def test_hs256_token_keyed_with_public_key_refused(
    verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey
) -> None:
    # Given the algorithm-confusion forgery: HMAC keyed with the published public key
    public_pem = pool_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": KID},
        id_claims(),
        lambda message: hmac.new(public_pem, message, hashlib.sha256).digest(),
    )
    with pytest.raises(CredentialsRejected):
        verifier.verify(token)


def test_unsigned_token_refused(verifier: OfficialTokenVerifier) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(hand_made({"alg": "none", "typ": "JWT", "kid": KID}, id_claims()))


def test_rs512_token_refused(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(jwt.encode(id_claims(), pool_key, algorithm="RS512", headers={"kid": KID}))


def test_token_with_altered_claims_refused(verifier: OfficialTokenVerifier, pool_key: rsa.RSAPrivateKey) -> None:
    # Given a genuine operator token whose payload is swapped for one naming the dpo role
    header, _, signature = signed(id_claims(), pool_key).split(".")
    forged_payload = _b64(json.dumps(id_claims(**{"cognito:groups": ["dpo"]})).encode())
    with pytest.raises(CredentialsRejected):
        verifier.verify(f"{header}.{forged_payload}.{signature}")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "gw-birzai-1." + "s" * 43])
def test_garbage_token_refused(verifier: OfficialTokenVerifier, token: str) -> None:
    with pytest.raises(CredentialsRejected):
        verifier.verify(token)


def test_jwks_outage_not_mistaken_for_bad_credentials(pool_key: rsa.RSAPrivateKey) -> None:
    # Given a key set URL where nothing listens (a port just released)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verifier = OfficialTokenVerifier(f"http://127.0.0.1:{port}/jwks.json", ISSUER, CLIENT_ID)
    with pytest.raises(jwt.PyJWKClientConnectionError):
        verifier.verify(signed(id_claims(), pool_key))


# bearer_token


@pytest.mark.parametrize("header", ["Bearer abc.def", "bearer abc.def", "  Bearer   abc.def  "])
def test_bearer_token_read_from_header(header: str) -> None:
    assert bearer_token(header) == "abc.def"


@pytest.mark.parametrize(
    "header",
    ["", "   ", "Bearer", "Bearer   ", "abc.def", "Basic dXNlcjpwYXNz", "Token abc.def", "Bearerabc.def"],
    ids=["empty", "blank", "scheme_only", "scheme_and_spaces", "no_scheme", "basic", "other_scheme", "no_space"],
)
def test_header_without_bearer_token_refused(header: str) -> None:
    with pytest.raises(CredentialsRejected, match="no bearer token"):
        bearer_token(header)
