"""The sites' private sealing keys (age identities): one Secrets Manager secret per key, `{prefix}/{site}/{key id}`.

Admins make keys through the API, whose role may create these secrets but not read them; the ingest function
alone reads them. A rotation adds a key and keeps every older one, so what was sealed to it still opens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class SealingKeys:
    def __init__(
        self,
        secrets_client: Any,
        prefix: str,
        kms_key_id: str = "",
        *,
        cache_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secrets = secrets_client
        self._prefix = prefix.rstrip("/")
        self._kms_key_id = kms_key_id
        self._cache_s = cache_s
        self._clock = clock
        self._cached: dict[str, tuple[float, list[str]]] = {}

    def identities(self, site: str, *, fresh: bool = False) -> list[str]:
        """Every AGE-SECRET-KEY of the site, newest first; none if it has no key yet.

        Read once per `cache_s` per site (a warm function would otherwise read the site's secrets for
        every sealed clip); a caller whose file opens with none of the cached keys asks again with `fresh`, so
        a rotation takes effect at the first clip sealed to the new key. The list may live long: the archive
        never withdraws a key (a rotation adds one), and one deleted by hand opens clips here `cache_s` longer
        at most. Each warm function meets most sites' clips (SQS hands any clip to any of them), so the
        reads of a large deployment grow with its functions times its sites divided by `cache_s`.
        """
        now = self._clock()
        cached = self._cached.get(site)
        if fresh or cached is None or now - cached[0] >= self._cache_s:
            cached = self._cached[site] = (now, self._read(site))
        return cached[1]

    def _read(self, site: str) -> list[str]:
        """One request per 20 of the site's keys (BatchGetSecretValue filtered by name), not a list and a read
        of each."""
        mine = f"{self._prefix}/{site}/"
        found: dict[str, str] = {}
        arguments: dict[str, Any] = {"Filters": [{"Key": "name", "Values": [mine]}]}
        while True:
            page = self._secrets.batch_get_secret_value(**arguments)
            if page.get("Errors"):
                first = page["Errors"][0]
                raise RuntimeError(f"site {site}'s key {first.get('SecretId')} unreadable: {first.get('ErrorCode')}")
            # The name filter matches prefixes of words, not of strings: keep only this site's own keys.
            found |= {
                entry["Name"]: entry["SecretString"] for entry in page["SecretValues"] if entry["Name"].startswith(mine)
            }
            if not page.get("NextToken"):
                break
            arguments["NextToken"] = page["NextToken"]
        return [found[name] for name in sorted(found, reverse=True)]

    def store(self, site: str, key_id: str, identity: str) -> None:
        """A new key of the site, never replacing one (key ids sort by time: see domain.sealing)."""
        extra = {"KmsKeyId": self._kms_key_id} if self._kms_key_id else {}
        self._secrets.create_secret(
            Name=f"{self._prefix}/{site}/{key_id}",
            SecretString=identity,
            Description=f"age identity of site {site}: opens clips its gateways sealed",
            **extra,
        )
        self._cached.pop(site, None)
