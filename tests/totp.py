"""TOTP codes as an official's authenticator app computes them from the secret the pool hands out."""

from __future__ import annotations

from typing import Any

import pyotp


class AuthenticatorApp(pyotp.TOTP):
    # moto hands every user the same 56-bit secret ("asdfasdfasdf"); real Cognito's are 160 bits.
    min_secret_length_bits = 56


def code_for(secret: str) -> str:
    return AuthenticatorApp(secret).now()


def first_login(cognito: Any, client_id: str, username: str, temporary: str, chosen: str) -> tuple[str, dict]:
    """A new official's first login as the console goes through it, on a pool requiring TOTP: a password of
    their own, then an authenticator app set up; the app's secret and the login's tokens."""
    login = {"USERNAME": username, "PASSWORD": temporary}
    asked = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=login)
    assert asked["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    changed = cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=asked["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": chosen},
    )
    assert changed["ChallengeName"] == "MFA_SETUP"  # the pool requires TOTP MFA
    secret = cognito.associate_software_token(Session=changed["Session"])
    verified = cognito.verify_software_token(
        Session=secret["Session"], UserCode=code_for(secret["SecretCode"]), FriendlyDeviceName="phone"
    )
    tokens = cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": username},
    )["AuthenticationResult"]
    return str(secret["SecretCode"]), dict(tokens)
