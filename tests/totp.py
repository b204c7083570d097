"""TOTP codes as an official's authenticator app computes them from the secret the pool hands out."""

from __future__ import annotations

import pyotp


class AuthenticatorApp(pyotp.TOTP):
    # moto hands every user the same 56-bit secret ("asdfasdfasdf"); real Cognito's are 160 bits.
    min_secret_length_bits = 56


def code_for(secret: str) -> str:
    return AuthenticatorApp(secret).now()
