// Message keys for values the API names (roles, share states).
import type { Role } from "../auth/session";
import type { MessageKey } from "./i18n";

export const ROLE_LABEL: Record<Role, MessageKey> = {
  operator: "role_operator",
  investigator: "role_investigator",
  dpo: "role_dpo",
  auditor: "role_auditor",
  admin: "role_admin",
};

export const SHARE_STATE_LABEL: Record<"requested" | "approved" | "revoked", MessageKey> = {
  requested: "share_requested_status",
  approved: "share_approved_status",
  revoked: "share_revoked_status",
};
