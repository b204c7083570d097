"""Who may do what (chalicelib.policy) against DESIGN.md "Roles"."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import AccessRefused, HiddenRefusal
from chalicelib.policy import ALLOWED_ROLES, Action, authorize, require_role
from chalicelib.services.footage import ViewRequest

SITE = "aizkraukle"
OTHER_SITE = "birzai"

# DESIGN.md "Roles", written out independently of the policy module.
EXPECTED: dict[Action, set[Role]] = {
    Action.REGISTER_CLIP: {Role.GATEWAY},
    Action.READ_OWN_CLIP: {Role.GATEWAY},
    Action.HEARTBEAT: {Role.GATEWAY},
    Action.REPORT_DROPS: {Role.GATEWAY},
    Action.READ_GAPS: {Role.OPERATOR, Role.INVESTIGATOR, Role.DPO, Role.ADMIN},
    Action.LIST_SITES: {Role.OPERATOR, Role.INVESTIGATOR, Role.DPO, Role.ADMIN, Role.AUDITOR},
    Action.LIST_CAMERAS: {Role.OPERATOR, Role.INVESTIGATOR, Role.DPO, Role.ADMIN},
    Action.SEARCH_CLIPS: {Role.OPERATOR, Role.INVESTIGATOR, Role.DPO},
    Action.READ_CLIP: {Role.OPERATOR, Role.INVESTIGATOR, Role.DPO},
    Action.VIEW_CLIP: {Role.OPERATOR, Role.INVESTIGATOR, Role.DPO},
    Action.DOWNLOAD_CLIP: {Role.INVESTIGATOR, Role.DPO},
    Action.READ_AUDIT: {Role.DPO, Role.AUDITOR},
    Action.VERIFY_AUDIT: {Role.DPO, Role.AUDITOR},
    Action.READ_RETENTION: {Role.DPO},
    Action.SET_RETENTION: {Role.DPO},
    Action.ERASE_CLIP: {Role.DPO},
    Action.OPEN_CASE: {Role.INVESTIGATOR},
    Action.READ_CASE: {Role.INVESTIGATOR, Role.DPO},
    Action.HOLD_CLIPS: {Role.INVESTIGATOR},
    Action.RELEASE_HOLD: {Role.INVESTIGATOR},
    Action.CLOSE_CASE: {Role.INVESTIGATOR, Role.DPO},
    Action.REVIEW_CASES: {Role.DPO},
    Action.LIST_CASES: {Role.INVESTIGATOR, Role.DPO},
    Action.SUBJECT_REQUESTS: {Role.DPO},
    Action.EXPORT_FOOTAGE: {Role.DPO},
    Action.REDACT_FOOTAGE: {Role.DPO},
    Action.REQUEST_SHARE: {Role.INVESTIGATOR},
    Action.APPROVE_SHARE: {Role.DPO},
    Action.REDACT_SHARE: {Role.DPO},
    Action.REVOKE_SHARE: {Role.INVESTIGATOR, Role.DPO},
    Action.READ_SHARE: {Role.INVESTIGATOR, Role.DPO},
    Action.LIST_SHARES: {Role.INVESTIGATOR, Role.DPO},
    Action.LIST_OFFICIALS: {Role.ADMIN},
    Action.MANAGE_OFFICIAL: {Role.ADMIN},
    Action.CONFIGURE_SITE: {Role.ADMIN},
    Action.READ_SITE_CONFIGURATION: {Role.ADMIN},
    Action.MAKE_SEALING_KEY: {Role.ADMIN},
    Action.CREATE_CAMERA: {Role.ADMIN},
    Action.CREATE_GATEWAY: {Role.ADMIN},
    Action.REVOKE_GATEWAY: {Role.ADMIN},
    Action.LIST_GATEWAYS: {Role.ADMIN},
    Action.EXPIRE_CLIP: {Role.SYSTEM},
    Action.DISCARD_UPLOAD: {Role.SYSTEM},
}
FOOTAGE = (Action.SEARCH_CLIPS, Action.READ_CLIP, Action.VIEW_CLIP, Action.DOWNLOAD_CLIP)


def principal(role: Role, *sites: str) -> Principal:
    return Principal(id=f"user:{role}", role=role, sites=frozenset(sites or {SITE}))


def allowed_actions(role: Role) -> set[Action]:
    return {action for action, roles in ALLOWED_ROLES.items() if role in roles}


def test_every_action_but_authenticate_has_a_rule() -> None:
    # AUTHENTICATE and USE_SHARE label credential-less callers in the audit trail; no role is authorized to them.
    assert set(ALLOWED_ROLES) == set(Action) - {Action.AUTHENTICATE, Action.USE_SHARE}
    assert set(EXPECTED) == set(ALLOWED_ROLES)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(EXPECTED))
def test_role_may_act_on_own_site_only_as_design_says(action: Action, role: Role) -> None:
    if role in EXPECTED[action]:
        authorize(principal(role), action, SITE)
    else:
        with pytest.raises(AccessRefused) as refusal:
            authorize(principal(role), action, SITE)
        assert refusal.value.status == 403


@pytest.mark.parametrize("action", FOOTAGE)
def test_admin_never_sees_footage(action: Action) -> None:
    with pytest.raises(AccessRefused, match="role admin may not"):
        authorize(principal(Role.ADMIN), action, SITE)


def test_auditor_only_reads_audit() -> None:
    # Listing its own sites is how an auditor picks whose audit trail to read.
    assert allowed_actions(Role.AUDITOR) == {Action.READ_AUDIT, Action.VERIFY_AUDIT, Action.LIST_SITES}


def test_gateway_only_registers_reads_own_clip_and_heartbeats() -> None:
    assert allowed_actions(Role.GATEWAY) == {
        Action.REGISTER_CLIP,
        Action.READ_OWN_CLIP,
        Action.HEARTBEAT,
        Action.REPORT_DROPS,
    }


def test_dpo_may_view_footage() -> None:
    authorize(principal(Role.DPO), Action.VIEW_CLIP, SITE, target="clip:01ARZ3NDEKTSV4RRFFQ69G5FAV")


@pytest.mark.parametrize(
    "body",
    [{}, {"purpose": ""}, {"purpose": "why"}, {"purpose": "      "}],
    ids=["missing", "empty", "too_short", "blank"],
)
def test_view_without_stated_purpose_refused(body: dict[str, str]) -> None:
    # The role table lets the dpo view; the purpose that must go on record is required by the request model.
    with pytest.raises(ValidationError, match="purpose"):
        ViewRequest.model_validate(body)


def test_operator_cannot_read_audit() -> None:
    with pytest.raises(AccessRefused):
        authorize(principal(Role.OPERATOR), Action.READ_AUDIT, SITE)


def test_system_only_expires_clips() -> None:
    assert allowed_actions(Role.SYSTEM) == {Action.EXPIRE_CLIP, Action.DISCARD_UPLOAD}


def test_operator_cannot_view_other_site() -> None:
    with pytest.raises(AccessRefused) as refusal:
        authorize(principal(Role.OPERATOR), Action.VIEW_CLIP, OTHER_SITE, target="clip:X")
    assert type(refusal.value) is AccessRefused
    assert refusal.value.status == 403
    assert (refusal.value.action, refusal.value.site, refusal.value.target) == (Action.VIEW_CLIP, OTHER_SITE, "clip:X")


def test_investigator_with_both_sites_may_search_either() -> None:
    investigator = principal(Role.INVESTIGATOR, SITE, OTHER_SITE)
    authorize(investigator, Action.SEARCH_CLIPS, SITE)
    authorize(investigator, Action.SEARCH_CLIPS, OTHER_SITE)


def test_hidden_refusal_of_other_site_is_not_found() -> None:
    with pytest.raises(HiddenRefusal) as refusal:
        authorize(principal(Role.OPERATOR), Action.READ_CLIP, OTHER_SITE, target="clip:X", hide=True)
    assert (refusal.value.status, refusal.value.code) == (404, "not_found")
    assert (refusal.value.action, refusal.value.site, refusal.value.target) == (Action.READ_CLIP, OTHER_SITE, "clip:X")
    assert OTHER_SITE not in refusal.value.message


def test_role_refusal_stays_forbidden_even_when_hidden() -> None:
    # The role alone decides: saying 403 reveals nothing about whether the clip exists.
    with pytest.raises(AccessRefused) as refusal:
        authorize(principal(Role.ADMIN), Action.READ_CLIP, OTHER_SITE, target="clip:X", hide=True)
    assert refusal.value.status == 403
    assert refusal.value.target == "clip:X"


def test_require_role_accepts_role_without_site() -> None:
    require_role(principal(Role.AUDITOR), Action.READ_AUDIT)


def test_require_role_refuses_other_role() -> None:
    with pytest.raises(AccessRefused) as refusal:
        require_role(principal(Role.OPERATOR), Action.READ_AUDIT)
    assert (refusal.value.status, refusal.value.action, refusal.value.site) == (403, Action.READ_AUDIT, "")


def test_require_role_refusal_carries_site_and_target() -> None:
    with pytest.raises(AccessRefused) as refusal:
        require_role(principal(Role.ADMIN), Action.SEARCH_CLIPS, site=OTHER_SITE, target="cam-01")
    assert (refusal.value.site, refusal.value.target) == (OTHER_SITE, "cam-01")
