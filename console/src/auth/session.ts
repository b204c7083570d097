// Who is logged in: the ID token in sessionStorage (one tab, gone with it), the refresh token in memory only,
// logout after 15 idle minutes, and logout forgets everything.
import type { Cognito, Tokens } from "./cognito";

export const IDLE_LOGOUT_MS = 15 * 60 * 1000;
const RENEW_BEFORE_MS = 60 * 1000;
const TOKEN_KEY = "safe-society.id-token";
const ROLES = ["operator", "investigator", "dpo", "admin", "auditor"] as const;

export type Role = (typeof ROLES)[number];
export type EndReason = "logout" | "idle" | "expired";

export interface Identity {
  username: string;
  role: Role;
  sites: string[];
  expiresAt: number;
}

/** The claims the console shows and routes by; the API verifies the token itself on every call. */
export function identityOf(token: string): Identity | null {
  try {
    const payload = atob((token.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(payload, (character) => character.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const groups = Array.isArray(claims["cognito:groups"]) ? (claims["cognito:groups"] as unknown[]) : [];
    const roles = ROLES.filter((role) => groups.includes(role));
    const listed = claims["custom:sites"];
    const sites = (typeof listed === "string" ? listed : "")
      .split(",")
      .map((site) => site.trim())
      .filter((site) => site !== "");
    const role = roles[0];
    if (roles.length !== 1 || role === undefined || typeof claims.exp !== "number") {
      return null;
    }
    const username = claims["cognito:username"] ?? claims.sub;
    if (typeof username !== "string") {
      return null;
    }
    return { username, role, sites, expiresAt: claims.exp * 1000 };
  } catch {
    return null;
  }
}

export class Session {
  private refreshToken: string | null = null;
  private lastActivity: number;
  private readonly listeners = new Set<(reason: EndReason | null) => void>();

  constructor(
    private readonly storage: Storage,
    private readonly cognito: () => Cognito,
    private readonly clock: () => number = () => Date.now(),
  ) {
    this.lastActivity = clock();
  }

  identity(): Identity | null {
    const token = this.storage.getItem(TOKEN_KEY);
    const identity = token === null ? null : identityOf(token);
    return identity !== null && identity.expiresAt > this.clock() ? identity : null;
  }

  begin(tokens: Tokens): void {
    this.storage.setItem(TOKEN_KEY, tokens.idToken);
    this.refreshToken = tokens.refreshToken;
    this.lastActivity = this.clock();
    this.notify(null);
  }

  /** Forget everything this tab knew: tokens, and whatever the screens had loaded. */
  end(reason: EndReason): void {
    this.storage.clear();
    this.refreshToken = null;
    this.notify(reason);
  }

  touch(): void {
    this.lastActivity = this.clock();
  }

  idleTooLong(): boolean {
    return this.clock() - this.lastActivity >= IDLE_LOGOUT_MS;
  }

  /** A token good for the next call: renewed shortly before it expires, while a refresh token is held. */
  async token(): Promise<string | null> {
    const identity = this.identity();
    const token = this.storage.getItem(TOKEN_KEY);
    if (identity !== null && identity.expiresAt - this.clock() > RENEW_BEFORE_MS) {
      return token;
    }
    if (this.refreshToken !== null) {
      try {
        this.begin(await this.cognito().refresh(this.refreshToken));
        return this.storage.getItem(TOKEN_KEY);
      } catch {
        // fall through: the session is over
      }
    }
    if (token !== null) {
      this.end("expired");
    }
    return null;
  }

  onChange(listener: (reason: EndReason | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(reason: EndReason | null): void {
    for (const listener of this.listeners) {
      listener(reason);
    }
  }
}
