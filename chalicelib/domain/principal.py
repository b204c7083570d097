"""Who is calling: an official with a role and sites, or a gateway bound to one site."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    GATEWAY = "gateway"
    OPERATOR = "operator"
    INVESTIGATOR = "investigator"
    DPO = "dpo"
    ADMIN = "admin"
    AUDITOR = "auditor"
    SYSTEM = "system"
    RECIPIENT = "recipient"  # of a share: holds a link, not an account


OFFICIAL_ROLES = frozenset({Role.OPERATOR, Role.INVESTIGATOR, Role.DPO, Role.ADMIN, Role.AUDITOR})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `sites` are the only sites it may touch."""

    id: str
    role: Role
    sites: frozenset[str]

    def to_context(self) -> dict[str, str]:
        """The authorizer context (API Gateway passes only flat strings)."""
        return {"principal_id": self.id, "role": self.role.value, "sites": ",".join(sorted(self.sites))}

    @classmethod
    def from_context(cls, context: dict[str, str]) -> Principal:
        sites = frozenset(s for s in context.get("sites", "").split(",") if s)
        return cls(id=context["principal_id"], role=Role(context["role"]), sites=sites)


SYSTEM = Principal(id="system:retention", role=Role.SYSTEM, sites=frozenset())
INGEST = Principal(id="system:ingest", role=Role.SYSTEM, sites=frozenset())
