"""The sites' sealing keys are read once per cache period, and read anew when asked (chalicelib.store.sealing_keys)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.store.sealing_keys import SealingKeys


class Secret:
    """A Secrets Manager secret holding the sites' keys, counting its reads."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's argument name
        self.reads += 1
        return {"SecretString": json.dumps(self.keys)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_secret_is_read_once_per_cache_period_not_once_per_clip() -> None:
    secret, clock = Secret({"aizkraukle": "AGE-SECRET-KEY-OLD"}), Clock()
    keys = SealingKeys(secret, "sealing-keys", cache_s=300, clock=clock)

    assert [keys.identity("aizkraukle") for _ in range(50)] == ["AGE-SECRET-KEY-OLD"] * 50
    assert secret.reads == 1
    secret.keys = {"aizkraukle": "AGE-SECRET-KEY-NEW"}
    clock.now += 299
    assert keys.identity("aizkraukle") == "AGE-SECRET-KEY-OLD"
    clock.now += 1  # a rotation is seen within the cache period at the latest
    assert keys.identity("aizkraukle") == "AGE-SECRET-KEY-NEW"
    assert secret.reads == 2


def test_asked_fresh_the_secret_is_read_at_once() -> None:
    secret = Secret({"aizkraukle": "AGE-SECRET-KEY-OLD"})
    keys = SealingKeys(secret, "sealing-keys", cache_s=300, clock=Clock())
    keys.identity("aizkraukle")
    secret.keys = {"aizkraukle": "AGE-SECRET-KEY-NEW"}

    assert keys.identity("aizkraukle", fresh=True) == "AGE-SECRET-KEY-NEW"
