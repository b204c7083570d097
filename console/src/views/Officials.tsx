// The officials of an admin's site: enrol (a first password shown once), role and sites, disable, reset.
import { useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { type Role } from "../auth/session";
import { type Site, useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Problem, ShownOnce, formChecked, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { ROLE_LABEL } from "../i18n/labels";

const ROLES: readonly Role[] = ["operator", "investigator", "dpo", "auditor", "admin"];

export function Officials({ site }: { site: string }) {
  const { api, identity, sites } = useArchive();
  const { t } = useI18n();
  const officials = useLoad(async () => (await unwrap(api.GET("/officials"))).officials, [api]);
  const action = useAction();
  const [secret, setSecret] = useState<{ who: string; password: string } | null>(null);
  const path = (username: string) => ({ params: { path: { username } } });
  const act = (work: () => Promise<unknown>) =>
    action.run(async () => {
      await work();
      officials.reload();
    });
  const enrol = (event: Event) => {
    const values = formValues(event);
    const body: Schemas["Official"] = {
      username: values.username ?? "",
      email: values.email || null,
      role: (values.role ?? "operator") as Role,
      sites: formChecked(event, "sites"),
    };
    act(async () => {
      const enrolled = await unwrap(api.POST("/officials", { body }));
      setSecret({ who: enrolled.username, password: enrolled.temporary_password });
    });
  };
  const mine = (officials.data ?? []).filter((account) => account.sites.includes(site));
  const grantable = sites.filter((known) => identity.sites.includes(known.site_id));
  const change = (account: Schemas["OfficialAccount"], wanted: Schemas["OfficialRole"]) =>
    act(() => unwrap(api.PUT("/officials/{username}", { ...path(account.username), body: wanted })));
  return (
    <section aria-labelledby="officials">
      <h2 id="officials">{t("officials")}</h2>
      <Problem error={officials.error ?? action.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t("username")}</th>
            <th scope="col">{t("role")}</th>
            <th scope="col">{t("sites")}</th>
            <th scope="col">{t("status")}</th>
            <th scope="col">{t("actions")}</th>
          </tr>
        </thead>
        <tbody>
          {mine.map((account) => (
            <tr key={account.username} data-official={account.username}>
              <td>{account.username}</td>
              <td>
                <select
                  aria-label={t("role_of", { who: account.username })}
                  value={account.role ?? ""}
                  disabled={account.username === identity.username || action.busy}
                  onChange={(event) => change(account, { role: event.currentTarget.value as Role, sites: account.sites })}
                >
                  {ROLES.map((role) => (
                    <option key={role} value={role}>
                      {t(ROLE_LABEL[role])}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                {account.username === identity.username ? (
                  [...account.sites].sort().join(", ")
                ) : (
                  <SitesOf
                    account={account}
                    grantable={grantable}
                    busy={action.busy}
                    onSave={(chosen) => change(account, { role: account.role ?? "operator", sites: chosen })}
                  />
                )}
              </td>
              <td>{account.enabled ? t("enabled") : t("disabled")}</td>
              <td>
                {account.username === identity.username ? null : (
                  <>
                    <button
                      type="button"
                      onClick={() =>
                        act(() =>
                          unwrap(
                            account.enabled
                              ? api.POST("/officials/{username}/disable", path(account.username))
                              : api.POST("/officials/{username}/enable", path(account.username)),
                          ),
                        )
                      }
                    >
                      {account.enabled ? t("disable") : t("enable")}
                    </button>
                    <button
                      type="button"
                      onClick={() =>
                        act(async () => {
                          const reset = await unwrap(api.POST("/officials/{username}/password", path(account.username)));
                          setSecret({ who: reset.username, password: reset.temporary_password });
                        })
                      }
                    >
                      {t("reset_password")}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {secret ? <ShownOnce label={t("first_password_of", { who: secret.who })} value={secret.password} /> : null}
      <form class="panel" onSubmit={enrol} aria-label={t("enrol_official")}>
        <label>
          {t("username")}
          <input name="username" required pattern="[a-z0-9][a-z0-9._\-]{2,63}" />
        </label>
        <label>
          {t("email")}
          <input name="email" type="email" />
        </label>
        <label>
          {t("role")}
          <select name="role">
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {t(ROLE_LABEL[role])}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>{t("sites")}</legend>
          {grantable.map((known) => (
            <label key={known.site_id} class="check">
              <input type="checkbox" name="sites" value={known.site_id} defaultChecked={known.site_id === site} />
              {known.name}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={action.busy}>
          {t("enrol_official")}
        </button>
      </form>
    </section>
  );
}

/** An official's sites, changed among those the admin administers (the API grants no others). */
function SitesOf({
  account,
  grantable,
  busy,
  onSave,
}: {
  account: Schemas["OfficialAccount"];
  grantable: readonly Site[];
  busy: boolean;
  onSave: (sites: string[]) => void;
}) {
  const { t } = useI18n();
  const save = (event: Event) => {
    event.preventDefault();
    onSave(formChecked(event, "sites"));
  };
  return (
    <details>
      <summary>{[...account.sites].sort().join(", ")}</summary>
      <form onSubmit={save} aria-label={t("sites_of", { who: account.username })}>
        {grantable.map((known) => (
          <label key={known.site_id} class="check">
            <input
              type="checkbox"
              name="sites"
              value={known.site_id}
              defaultChecked={account.sites.includes(known.site_id)}
            />
            {known.name}
          </label>
        ))}
        <button type="submit" disabled={busy}>
          {t("save")}
        </button>
      </form>
    </details>
  );
}
