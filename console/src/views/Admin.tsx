// An admin's site: cameras, gateways (a token shown once; revoke), their health, and the officials.
// No footage and no thumbnails anywhere here (separation of duties).
import { useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Problem, ShownOnce, formChecked, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { Officials } from "./Officials";

export function AdminScreen({ site }: { site: string }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const cameras = useLoad(() => unwrap(api.GET("/sites/{site}/cameras", { params: { path: { site } } })), [api, site]);
  return (
    <main>
      <h1>{t("nav_admin")}</h1>
      <Cameras site={site} cameras={cameras.data?.cameras ?? []} onAdded={cameras.reload} />
      <Problem error={cameras.error} />
      <Gateways site={site} cameras={cameras.data?.cameras ?? []} />
      <Officials site={site} />
    </main>
  );
}

function Cameras(props: { site: string; cameras: Schemas["Camera"][]; onAdded: () => void }) {
  const { api, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const action = useAction();
  const submit = (event: Event) => {
    const values = formValues(event);
    const body = { camera_id: values.camera_id ?? "", name: values.name ?? "", location: values.location ?? "" };
    const form = event.currentTarget as HTMLFormElement;
    action.run(async () => {
      await unwrap(api.POST("/sites/{site}/cameras", { params: { path: { site: props.site } }, body }));
      form.reset();
      props.onAdded();
    });
  };
  return (
    <section aria-labelledby="cameras">
      <h2 id="cameras">{t("cameras")}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{t("camera_id")}</th>
            <th scope="col">{t("name")}</th>
            <th scope="col">{t("location")}</th>
            <th scope="col">{t("last_clip_column")}</th>
          </tr>
        </thead>
        <tbody>
          {props.cameras.map((camera) => (
            <tr key={camera.camera_id}>
              <td>{camera.camera_id}</td>
              <td>{camera.name}</td>
              <td>{camera.location}</td>
              <td>{camera.last_clip_at ? time(camera.last_clip_at, zoneOf(props.site)) : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="panel" onSubmit={submit} aria-label={t("add_camera")}>
        <label>
          {t("camera_id")}
          <input name="camera_id" required pattern="[a-z0-9][a-z0-9\-]{1,62}" />
        </label>
        <label>
          {t("name")}
          <input name="name" required maxLength={120} />
        </label>
        <label>
          {t("location")}
          <input name="location" required maxLength={300} />
        </label>
        <button type="submit" disabled={action.busy}>
          {t("add_camera")}
        </button>
        <Problem error={action.error} />
      </form>
    </section>
  );
}

function Gateways({ site, cameras }: { site: string; cameras: Schemas["Camera"][] }) {
  const { api, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const gateways = useLoad(async () => (await unwrap(api.GET("/gateways"))).gateways, [api]);
  const action = useAction();
  const [created, setCreated] = useState<Schemas["CreatedGateway"] | null>(null);
  const create = (event: Event) => {
    const cameraIds = formChecked(event, "camera_ids");
    const { name = "" } = formValues(event);
    action.run(async () => {
      setCreated(await unwrap(api.POST("/gateways", { body: { site_id: site, name, camera_ids: cameraIds } })));
      gateways.reload();
    });
  };
  const revoke = (gatewayId: string) =>
    action.run(async () => {
      await unwrap(api.POST("/gateways/{gateway_id}/revocation", { params: { path: { gateway_id: gatewayId } } }));
      gateways.reload();
    });
  const zone = zoneOf(site);
  const mine = (gateways.data ?? []).filter((gateway) => gateway.site_id === site);
  return (
    <section aria-labelledby="gateways">
      <h2 id="gateways">{t("gateways")}</h2>
      <Loading when={gateways.loading} />
      <Problem error={gateways.error ?? action.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">{t("name")}</th>
            <th scope="col">{t("last_seen")}</th>
            <th scope="col">{t("silent_cameras")}</th>
            <th scope="col">{t("failed_clips")}</th>
            <th scope="col">{t("status")}</th>
          </tr>
        </thead>
        <tbody>
          {mine.map((gateway) => (
            <tr key={gateway.gateway_id} class={gateway.silent_cameras.length > 0 || gateway.failed_clips > 0 ? "refused" : ""}>
              <td>
                {gateway.name} <code>{gateway.gateway_id}</code>
              </td>
              <td>{gateway.last_seen_at ? time(gateway.last_seen_at, zone) : t("never")}</td>
              <td>{gateway.silent_cameras.join(", ") || "—"}</td>
              <td>{gateway.failed_clips || "—"}</td>
              <td>
                {gateway.revoked_at ? (
                  t("revoked")
                ) : (
                  <button type="button" class="danger" onClick={() => revoke(gateway.gateway_id)} disabled={action.busy}>
                    {t("revoke")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="panel" onSubmit={create} aria-label={t("create_gateway")}>
        <label>
          {t("name")}
          <input name="name" required maxLength={120} />
        </label>
        <fieldset>
          <legend>{t("its_cameras")}</legend>
          {cameras.map((camera) => (
            <label key={camera.camera_id} class="check">
              <input type="checkbox" name="camera_ids" value={camera.camera_id} />
              {camera.name}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={action.busy}>
          {t("create_gateway")}
        </button>
      </form>
      {created ? (
        <>
          <ShownOnce label={t("gateway_token")} value={created.token} />
          {created.site_recipient ? <p class="hint">{t("site_recipient", { key: created.site_recipient })}</p> : null}
        </>
      ) : null}
    </section>
  );
}
