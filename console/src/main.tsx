import { render } from "preact";
import { apiRoot, makeClient, type Schemas } from "./api/client";
import { Cognito } from "./auth/cognito";
import { Session } from "./auth/session";
import "./styles.css";
import { App } from "./views/App";

async function start(): Promise<void> {
  const root = apiRoot(location);
  const answer = await fetch(`${root}/auth/config`);
  const config = (await answer.json()) as Schemas["LoginConfig"];
  const cognito = new Cognito(config.cognito_endpoint, config.user_pool_client_id);
  const session = new Session(sessionStorage, () => cognito);
  const api = makeClient(root, () => session.token(), () => session.end("expired"));
  const mount = document.getElementById("app");
  if (mount !== null) {
    render(<App session={session} cognito={cognito} api={api} />, mount);
  }
}

void start();
