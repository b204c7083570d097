// Cognito's own API by plain fetch: the password, the first-login new password, TOTP set-up and codes.

export interface Tokens {
  idToken: string;
  refreshToken: string | null;
}

export type ChallengeName = "NEW_PASSWORD_REQUIRED" | "MFA_SETUP" | "SOFTWARE_TOKEN_MFA";

export interface Challenge {
  name: ChallengeName;
  session: string;
  username: string;
}

export type LoginStep = { tokens: Tokens } | { challenge: Challenge };

export class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface AuthAnswer {
  AuthenticationResult?: { IdToken: string; RefreshToken?: string };
  ChallengeName?: string;
  Session?: string;
}

const KNOWN_CHALLENGES: readonly string[] = ["NEW_PASSWORD_REQUIRED", "MFA_SETUP", "SOFTWARE_TOKEN_MFA"];

export class Cognito {
  constructor(
    private readonly endpoint: string,
    private readonly clientId: string,
  ) {}

  login(username: string, password: string): Promise<LoginStep> {
    const body = { AuthFlow: "USER_PASSWORD_AUTH", ClientId: this.clientId };
    return this.step(username, "InitiateAuth", { ...body, AuthParameters: { USERNAME: username, PASSWORD: password } });
  }

  newPassword(challenge: Challenge, password: string): Promise<LoginStep> {
    return this.respond(challenge, { NEW_PASSWORD: password });
  }

  mfaCode(challenge: Challenge, code: string): Promise<LoginStep> {
    return this.respond(challenge, { SOFTWARE_TOKEN_MFA_CODE: code });
  }

  /** The secret to enter in an authenticator app, and the session to verify the first code with. */
  async mfaSecret(challenge: Challenge): Promise<{ secret: string; session: string }> {
    const answer = await this.call<{ SecretCode: string; Session: string }>("AssociateSoftwareToken", {
      Session: challenge.session,
    });
    return { secret: answer.SecretCode, session: answer.Session };
  }

  async finishMfaSetup(challenge: Challenge, session: string, code: string): Promise<LoginStep> {
    const verified = await this.call<{ Session: string }>("VerifySoftwareToken", {
      Session: session,
      UserCode: code,
      FriendlyDeviceName: "authenticator",
    });
    return this.respond({ ...challenge, session: verified.Session }, {});
  }

  async refresh(refreshToken: string): Promise<Tokens> {
    const answer = await this.call<AuthAnswer>("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: this.clientId,
      AuthParameters: { REFRESH_TOKEN: refreshToken },
    });
    if (!answer.AuthenticationResult) {
      throw new CognitoError("NotAuthorizedException", "the session could not be renewed");
    }
    return { idToken: answer.AuthenticationResult.IdToken, refreshToken };
  }

  private respond(challenge: Challenge, responses: Record<string, string>): Promise<LoginStep> {
    return this.step(challenge.username, "RespondToAuthChallenge", {
      ClientId: this.clientId,
      ChallengeName: challenge.name,
      Session: challenge.session,
      ChallengeResponses: { USERNAME: challenge.username, ...responses },
    });
  }

  private async step(username: string, target: string, body: object): Promise<LoginStep> {
    const answer = await this.call<AuthAnswer>(target, body);
    if (answer.AuthenticationResult) {
      const result = answer.AuthenticationResult;
      return { tokens: { idToken: result.IdToken, refreshToken: result.RefreshToken ?? null } };
    }
    const name = answer.ChallengeName ?? "";
    if (!KNOWN_CHALLENGES.includes(name) || answer.Session === undefined) {
      throw new CognitoError("UnsupportedChallenge", `the login asks for ${name}, which the console cannot answer`);
    }
    return { challenge: { name: name as ChallengeName, session: answer.Session, username } };
  }

  private async call<T>(target: string, body: object): Promise<T> {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify(body),
    });
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const type = textOf(answer.__type, textOf(answer.code, "CognitoError"));
      throw new CognitoError(type.split("#").pop() ?? type, textOf(answer.message, textOf(answer.Message, type)));
    }
    return answer as T;
  }
}

function textOf(value: unknown, otherwise: string): string {
  return typeof value === "string" ? value : otherwise;
}
