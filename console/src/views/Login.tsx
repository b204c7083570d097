// Logging in through the user pool: password, then whatever it asks: a new password at the first login,
// setting up a TOTP app, or a code from it.
import { useState } from "preact/hooks";
import { type Challenge, type Cognito, CognitoError, type LoginStep, type Tokens } from "../auth/cognito";
import type { EndReason } from "../auth/session";
import { Problem, formValues, useAction } from "../components/ui";
import { type MessageKey, useI18n } from "../i18n/i18n";

const ENDED: Record<EndReason, MessageKey> = {
  logout: "logged_out",
  idle: "logged_out_idle",
  expired: "logged_out_expired",
};

function loginProblem(error: Error | null, t: (key: MessageKey) => string): Error | null {
  if (error instanceof CognitoError && error.type === "NotAuthorizedException") {
    return new Error(t("login_refused"));
  }
  if (error instanceof CognitoError && error.type === "CodeMismatchException") {
    return new Error(t("code_wrong"));
  }
  return error;
}

export function Login(props: { cognito: Cognito; ended: EndReason | null; onTokens: (tokens: Tokens) => void }) {
  const { t } = useI18n();
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [setup, setSetup] = useState<{ secret: string; session: string } | null>(null);
  const action = useAction();

  const advance = async (step: Promise<LoginStep>) => {
    const next = await step;
    if ("tokens" in next) {
      props.onTokens(next.tokens);
      return;
    }
    setChallenge(next.challenge);
    setSetup(next.challenge.name === "MFA_SETUP" ? await props.cognito.mfaSecret(next.challenge) : null);
  };
  const submit = (event: Event) => {
    const values = formValues(event);
    action.run(async () => {
      if (challenge === null) {
        return advance(props.cognito.login(values.username ?? "", values.password ?? ""));
      }
      if (challenge.name === "NEW_PASSWORD_REQUIRED") {
        if (values.password !== values.repeat) {
          throw new Error(t("passwords_differ"));
        }
        return advance(props.cognito.newPassword(challenge, values.password ?? ""));
      }
      if (challenge.name === "MFA_SETUP" && setup !== null) {
        return advance(props.cognito.finishMfaSetup(challenge, setup.session, values.code ?? ""));
      }
      return advance(props.cognito.mfaCode(challenge, values.code ?? ""));
    });
  };

  return (
    <main class="login">
      <h1>{t("app_name")}</h1>
      {props.ended && challenge === null ? <p role="status">{t(ENDED[props.ended])}</p> : null}
      <form onSubmit={submit} aria-labelledby="login-title">
        <h2 id="login-title">{t(challenge === null ? "log_in" : titleOf(challenge))}</h2>
        <Fields challenge={challenge} setup={setup} />
        <Problem error={loginProblem(action.error, t)} />
        <button type="submit" disabled={action.busy}>
          {t(challenge === null ? "log_in" : "continue")}
        </button>
      </form>
    </main>
  );
}

function titleOf(challenge: Challenge): MessageKey {
  switch (challenge.name) {
    case "NEW_PASSWORD_REQUIRED":
      return "choose_password";
    case "MFA_SETUP":
      return "set_up_mfa";
    default:
      return "enter_code";
  }
}

function Fields({ challenge, setup }: { challenge: Challenge | null; setup: { secret: string } | null }) {
  const { t } = useI18n();
  if (challenge === null) {
    return (
      <>
        <label>
          {t("username")}
          <input name="username" autoComplete="username" required autoFocus />
        </label>
        <label>
          {t("password")}
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
      </>
    );
  }
  if (challenge.name === "NEW_PASSWORD_REQUIRED") {
    return (
      <>
        <p>{t("choose_password_why")}</p>
        <label>
          {t("new_password")}
          <input name="password" type="password" autoComplete="new-password" minLength={12} required autoFocus />
        </label>
        <label>
          {t("repeat_password")}
          <input name="repeat" type="password" autoComplete="new-password" minLength={12} required />
        </label>
      </>
    );
  }
  return (
    <>
      {setup ? (
        <div>
          <p>{t("set_up_mfa_how")}</p>
          <code data-testid="mfa-secret">{setup.secret}</code>
        </div>
      ) : null}
      <label>
        {t("code")}
        <input
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          required
          autoFocus
        />
      </label>
    </>
  );
}
