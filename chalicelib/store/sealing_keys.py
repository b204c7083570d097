"""The sites' private sealing keys (age identities), in one Secrets Manager secret readable by ingest alone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


class SealingKeys:
    def __init__(
        self, secrets_client: Any, secret_id: str, cache_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._secrets = secrets_client
        self._secret_id = secret_id
        self._cache_s = cache_s
        self._clock = clock
        self._cached: tuple[float, dict[str, str]] | None = None

    def _all(self) -> dict[str, str]:
        raw = self._secrets.get_secret_value(SecretId=self._secret_id).get("SecretString") or "{}"
        keys: dict[str, str] = json.loads(raw)
        return keys

    def identity(self, site: str, *, fresh: bool = False) -> str | None:
        """The site's AGE-SECRET-KEY, or None if the site has none yet.

        Read once per `cache_s` (a warm function would otherwise read the secret for every sealed clip); a
        caller whose file does not open with the cached key asks again with `fresh`, so a rotation takes
        effect at the first clip sealed to the new key, and a stale cache lives `cache_s` at most.
        """
        now = self._clock()
        if fresh or self._cached is None or now - self._cached[0] >= self._cache_s:
            self._cached = (now, self._all())
        return self._cached[1].get(site)

    def store(self, site: str, identity: str) -> None:
        """Add or replace a site's identity (a key tool's job; the ingest role may only read)."""
        keys = self._all() | {site: identity}
        self._secrets.put_secret_value(SecretId=self._secret_id, SecretString=json.dumps(keys))
        self._cached = None
