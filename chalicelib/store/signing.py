"""The audit signing key in KMS (asymmetric, SIGN_VERIFY): the digest function signs, anyone verifies."""

from __future__ import annotations

import functools
from typing import Any

from chalicelib.domain.audit_chain import SIGNING_ALGORITHM


class AuditSigner:
    def __init__(self, kms_client: Any, key_id: str) -> None:
        self._kms = kms_client
        self.key_id = key_id

    def sign(self, message: bytes) -> bytes:
        """Only the digest function's role may do this (the key policy, infra/template.yaml)."""
        answer = self._kms.sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM
        )
        signature: bytes = answer["Signature"]
        return signature

    @functools.cached_property
    def public_key_der(self) -> bytes:
        """The key's DER SubjectPublicKeyInfo (kms:GetPublicKey), what outsiders verify with."""
        der: bytes = self._kms.get_public_key(KeyId=self.key_id)["PublicKey"]
        return der
