"""The authorizer context carries the Principal intact (chalicelib.domain.principal)."""

from __future__ import annotations

import pytest

from chalicelib.domain.principal import Principal, Role


@pytest.mark.parametrize(
    "principal",
    [
        Principal(id="user:ilze", role=Role.INVESTIGATOR, sites=frozenset({"birzai", "aizkraukle"})),
        Principal(id="user:auditor", role=Role.AUDITOR, sites=frozenset()),
        Principal(id="gateway:gw-birzai-1", role=Role.GATEWAY, sites=frozenset({"birzai"})),
    ],
    ids=["two_sites", "no_site", "gateway"],
)
def test_principal_survives_authorizer_context(principal: Principal) -> None:
    assert Principal.from_context(principal.to_context()) == principal


def test_context_is_flat_strings_with_sorted_sites() -> None:
    context = Principal(id="user:ilze", role=Role.DPO, sites=frozenset({"birzai", "aizkraukle"})).to_context()
    assert context == {"principal_id": "user:ilze", "role": "dpo", "sites": "aizkraukle,birzai"}


def test_context_with_unknown_role_refused() -> None:
    with pytest.raises(ValueError, match="superuser"):
        Principal.from_context({"principal_id": "user:x", "role": "superuser", "sites": "birzai"})
