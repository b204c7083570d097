"""A site's sealing keys are read once per cache period, and read anew when asked (chalicelib.store.sealing_keys)."""

from __future__ import annotations

from typing import Any

from chalicelib.store.sealing_keys import SealingKeys


class Secrets:
    """Secrets Manager's batch read of secrets by name (BatchGetSecretValue with a name filter), counting the
    requests."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.requests = 0

    def batch_get_secret_value(self, Filters: list[dict[str, Any]], NextToken: str = "") -> dict[str, Any]:  # noqa: N803 - boto3's names
        """Two secrets a page, so that a site's keys take more than one."""
        self.requests += 1
        (prefix,) = Filters[0]["Values"]
        # Word prefixes, as Secrets Manager matches: the caller must drop other sites' keys itself.
        names = sorted(name for name in self.secrets if name.startswith(prefix.rstrip("/")))
        start = int(NextToken or 0)
        page = [{"Name": name, "SecretString": self.secrets[name]} for name in names[start : start + 2]]
        more = {"NextToken": str(start + 2)} if start + 2 < len(names) else {}
        return {"SecretValues": page, "Errors": []} | more


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sites_keys_are_read_once_per_cache_period_not_once_per_clip() -> None:
    secrets, clock = Secrets({"keys/aizkraukle/01A": "OLD", "keys/aizkraukle-2/01A": "OTHER SITE"}), Clock()
    keys = SealingKeys(secrets, "keys", cache_s=300, clock=clock)

    assert [keys.identities("aizkraukle") for _ in range(50)] == [["OLD"]] * 50
    assert secrets.requests == 1  # one request reads all the site's keys
    secrets.secrets["keys/aizkraukle/01B"] = "NEW"  # a rotation keeps the old key
    clock.now += 299
    assert keys.identities("aizkraukle") == ["OLD"]
    clock.now += 1  # a rotation is seen within the cache period at the latest
    assert keys.identities("aizkraukle") == ["NEW", "OLD"]


def test_asked_fresh_the_keys_are_read_at_once() -> None:
    secrets = Secrets({"keys/aizkraukle/01A": "OLD"})
    keys = SealingKeys(secrets, "keys", cache_s=300, clock=Clock())
    keys.identities("aizkraukle")
    secrets.secrets["keys/aizkraukle/01B"] = "NEW"

    assert keys.identities("aizkraukle", fresh=True) == ["NEW", "OLD"]


def test_a_site_with_more_keys_than_a_page_gets_them_all() -> None:
    secrets = Secrets({f"keys/aizkraukle/01{letter}": letter for letter in "ABCDE"})

    assert SealingKeys(secrets, "keys", clock=Clock()).identities("aizkraukle") == list("EDCBA")
    assert secrets.requests == 3
