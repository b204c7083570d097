"""The sites' private sealing keys (age identities): one Secrets Manager secret per key, `{prefix}/{site}/{key id}`.

Admins make keys through the API, whose role may create these secrets but not read them; the ingest function
alone reads them. A rotation adds a key and keeps every older one, so what was sealed to it still opens.
"""

from __future__ import annotations

from typing import Any


class SealingKeys:
    def __init__(self, secrets_client: Any, prefix: str, kms_key_id: str = "") -> None:
        self._secrets = secrets_client
        self._prefix = prefix.rstrip("/")
        self._kms_key_id = kms_key_id

    def identities(self, site: str) -> list[str]:
        """Every AGE-SECRET-KEY of the site, newest first; none if it has no key yet. Read each time: a
        rotation takes at once."""
        names = []
        mine = f"{self._prefix}/{site}/"
        pages = self._secrets.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [mine]}])
        for page in pages:
            # The name filter matches prefixes of words, not of strings: keep only this site's own keys.
            names += [
                entry["Name"] for entry in page["SecretList"] if entry["Name"].startswith(f"{self._prefix}/{site}/")
            ]
        return [self._secrets.get_secret_value(SecretId=name)["SecretString"] for name in sorted(names, reverse=True)]

    def store(self, site: str, key_id: str, identity: str) -> None:
        """A new key of the site, never replacing one (key ids sort by time: see domain.sealing)."""
        extra = {"KmsKeyId": self._kms_key_id} if self._kms_key_id else {}
        self._secrets.create_secret(
            Name=f"{self._prefix}/{site}/{key_id}",
            SecretString=identity,
            Description=f"age identity of site {site}: opens clips its gateways sealed",
            **extra,
        )
