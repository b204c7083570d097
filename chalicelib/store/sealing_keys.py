"""The sites' private sealing keys (age identities), in one Secrets Manager secret readable by ingest alone."""

from __future__ import annotations

import json
from typing import Any


class SealingKeys:
    def __init__(self, secrets_client: Any, secret_id: str) -> None:
        self._secrets = secrets_client
        self._secret_id = secret_id

    def _all(self) -> dict[str, str]:
        raw = self._secrets.get_secret_value(SecretId=self._secret_id).get("SecretString") or "{}"
        keys: dict[str, str] = json.loads(raw)
        return keys

    def identity(self, site: str) -> str | None:
        """The site's AGE-SECRET-KEY, or None if the site has none yet. Read each time: rotation takes at once."""
        return self._all().get(site)

    def store(self, site: str, identity: str) -> None:
        """Add or replace a site's identity (a key tool's job; the ingest role may only read)."""
        keys = self._all() | {site: identity}
        self._secrets.put_secret_value(SecretId=self._secret_id, SecretString=json.dumps(keys))
