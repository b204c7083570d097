"""Who may do what: pure functions over a Principal (DESIGN.md "Roles")."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import AccessRefused, HiddenRefusal, NotFound


class Action(StrEnum):
    REGISTER_CLIP = "clip.register"
    READ_OWN_CLIP = "clip.status"
    HEARTBEAT = "gateway.heartbeat"
    REPORT_DROPS = "gateway.drops"
    READ_GAPS = "camera.gaps"
    LIST_SITES = "sites.list"
    LIST_CAMERAS = "cameras.list"
    SEARCH_CLIPS = "clips.search"
    READ_CLIP = "clip.read"
    VIEW_CLIP = "clip.view"
    DOWNLOAD_CLIP = "clip.download"
    READ_AUDIT = "audit.read"
    VERIFY_AUDIT = "audit.verify"
    CREATE_CAMERA = "camera.create"
    CREATE_GATEWAY = "gateway.create"
    REVOKE_GATEWAY = "gateway.revoke"
    LIST_GATEWAYS = "gateways.list"
    EXPIRE_CLIP = "clip.expire"
    DISCARD_UPLOAD = "clip.discard_upload"
    READ_RETENTION = "retention.read"
    SET_RETENTION = "retention.set"
    ERASE_CLIP = "clip.erase"
    OPEN_CASE = "case.open"
    READ_CASE = "case.read"
    HOLD_CLIPS = "case.hold"
    RELEASE_HOLD = "case.release"
    CLOSE_CASE = "case.close"
    REVIEW_CASES = "cases.review"
    LIST_CASES = "cases.list"
    SUBJECT_REQUESTS = "subject_request"
    EXPORT_FOOTAGE = "subject_request.export"
    REDACT_FOOTAGE = "subject_request.redact"
    REQUEST_SHARE = "share.request"
    APPROVE_SHARE = "share.approve"
    REDACT_SHARE = "share.redact"
    REVOKE_SHARE = "share.revoke"
    READ_SHARE = "share.read"
    LIST_SHARES = "shares.list"
    USE_SHARE = "share.use"
    LIST_OFFICIALS = "officials.list"
    MANAGE_OFFICIAL = "official.manage"
    CONFIGURE_SITE = "site.configure"
    READ_SITE_CONFIGURATION = "site.configuration"
    MAKE_SEALING_KEY = "site.sealing_key"
    AUTHENTICATE = "authenticate"


_FOOTAGE = frozenset({Role.OPERATOR, Role.INVESTIGATOR, Role.DPO})

ALLOWED_ROLES: dict[Action, frozenset[Role]] = {
    Action.REGISTER_CLIP: frozenset({Role.GATEWAY}),
    Action.READ_OWN_CLIP: frozenset({Role.GATEWAY}),
    Action.HEARTBEAT: frozenset({Role.GATEWAY}),
    Action.REPORT_DROPS: frozenset({Role.GATEWAY}),
    Action.READ_GAPS: _FOOTAGE | {Role.ADMIN},
    Action.LIST_SITES: frozenset({Role.OPERATOR, Role.INVESTIGATOR, Role.DPO, Role.ADMIN, Role.AUDITOR}),
    Action.LIST_CAMERAS: _FOOTAGE | {Role.ADMIN},
    # Thumbnails are footage too: admins and auditors never see them (separation of duties).
    Action.SEARCH_CLIPS: _FOOTAGE,
    Action.READ_CLIP: _FOOTAGE,
    Action.VIEW_CLIP: _FOOTAGE,
    # Operators watch in the console; taking a copy away is for those who answer for it (DESIGN.md "Roles").
    Action.DOWNLOAD_CLIP: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.READ_AUDIT: frozenset({Role.DPO, Role.AUDITOR}),
    Action.VERIFY_AUDIT: frozenset({Role.DPO, Role.AUDITOR}),
    Action.CREATE_CAMERA: frozenset({Role.ADMIN}),
    Action.CREATE_GATEWAY: frozenset({Role.ADMIN}),
    Action.REVOKE_GATEWAY: frozenset({Role.ADMIN}),
    Action.LIST_GATEWAYS: frozenset({Role.ADMIN}),
    Action.EXPIRE_CLIP: frozenset({Role.SYSTEM}),
    # Ingest deletes an upload that arrives for a clip no longer awaiting it (erased, expired, judged).
    Action.DISCARD_UPLOAD: frozenset({Role.SYSTEM}),
    Action.READ_RETENTION: frozenset({Role.DPO}),
    Action.SET_RETENTION: frozenset({Role.DPO}),
    Action.ERASE_CLIP: frozenset({Role.DPO}),
    Action.OPEN_CASE: frozenset({Role.INVESTIGATOR}),
    Action.READ_CASE: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.HOLD_CLIPS: frozenset({Role.INVESTIGATOR}),
    Action.RELEASE_HOLD: frozenset({Role.INVESTIGATOR}),
    Action.CLOSE_CASE: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.REVIEW_CASES: frozenset({Role.DPO}),
    Action.LIST_CASES: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.SUBJECT_REQUESTS: frozenset({Role.DPO}),
    Action.EXPORT_FOOTAGE: frozenset({Role.DPO}),
    # Finding and reviewing what to mask: the thumbnail strips are footage of other people.
    Action.REDACT_FOOTAGE: frozenset({Role.DPO}),
    Action.REQUEST_SHARE: frozenset({Role.INVESTIGATOR}),
    Action.APPROVE_SHARE: frozenset({Role.DPO}),
    # The approver decides what a share may show: a redacted share is redacted and reviewed by the dpo.
    Action.REDACT_SHARE: frozenset({Role.DPO}),
    Action.REVOKE_SHARE: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.READ_SHARE: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.LIST_SHARES: frozenset({Role.INVESTIGATOR, Role.DPO}),
    Action.LIST_OFFICIALS: frozenset({Role.ADMIN}),
    Action.MANAGE_OFFICIAL: frozenset({Role.ADMIN}),
    # Admins configure the sites they run (the legal limits come from a reviewed file) and their sealing keys.
    Action.CONFIGURE_SITE: frozenset({Role.ADMIN}),
    Action.READ_SITE_CONFIGURATION: frozenset({Role.ADMIN}),
    Action.MAKE_SEALING_KEY: frozenset({Role.ADMIN}),
}


def authorize(principal: Principal, action: Action, site: str, *, target: str = "", hide: bool = False) -> None:
    """Refuse unless the principal's role may do `action` on `site`.

    `hide` answers a site refusal as 404: for things addressed by id, a 403 would confirm they exist.
    """
    if principal.role not in ALLOWED_ROLES[action]:
        raise AccessRefused(f"role {principal.role} may not {action}", action=action, site=site, target=target)
    if site not in principal.sites:
        if hide:
            raise HiddenRefusal(f"{target or site} not found", action=action, site=site, target=target)
        raise AccessRefused(f"no access to site {site}", action=action, site=site, target=target)


def require_role(principal: Principal, action: Action, *, site: str = "", target: str = "") -> None:
    """Refuse unless the role may do `action` at all; `site` and `target` say where, for the audit trail."""
    if principal.role not in ALLOWED_ROLES[action]:
        raise AccessRefused(f"role {principal.role} may not {action}", action=action, site=site, target=target)


def authorize_addressed[Thing](
    principal: Principal, action: Action, thing: Thing | None, site_of: Callable[[Thing], str], target: str
) -> Thing:
    """For things addressed by id (`thing` None: there is no such thing): the role is refused alike whether it
    exists or not; then a missing thing is a 404, and another site's thing a 404 too (hidden, and audited)."""
    site = site_of(thing) if thing is not None else None
    require_role(principal, action, site=site or "", target=target)
    if thing is None or site is None:
        raise NotFound(f"{target} not found")
    authorize(principal, action, site, target=target, hide=True)
    return thing
