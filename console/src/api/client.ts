// The one way the console reaches the archive: its public API, typed from the OpenAPI document.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "../../generated/schema";

export type Schemas = components["schemas"];
export type QueryOf<Operation extends keyof operations> = NonNullable<operations[Operation]["parameters"]["query"]>;
export type ApiClient = ReturnType<typeof createClient<paths>>;

/** What an answer that is not a success says: the API's `{error, message}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API's root: the console is served at `<root>/console`, locally `/console`, on AWS `/api/console`. */
export function apiRoot(location: Location): string {
  return location.origin + location.pathname.replace(/\/console\/?$/, "");
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

export async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (response.ok) {
    return data as T;
  }
  const body = (error ?? {}) as { error?: unknown; message?: unknown };
  const code = typeof body.error === "string" ? body.error : `http_${response.status}`;
  const message = typeof body.message === "string" ? body.message : response.statusText;
  throw new ApiError(response.status, code, message);
}

/** The credentials were refused (not a rule): no credentials, or the authorizer turned the token away. */
export function credentialsRefused(status: number, body: unknown): boolean {
  if (status === 401) {
    return true;
  }
  const code = (body as { error?: unknown } | null)?.error;
  return status === 403 && (code === undefined || code === "credentials_rejected");
}

export function makeClient(
  root: string,
  token: () => Promise<string | null>,
  onRefused: () => void,
): ApiClient {
  const client = createClient<paths>({ baseUrl: root });
  client.use({
    async onRequest({ request }) {
      const bearer = await token();
      if (bearer !== null) {
        request.headers.set("Authorization", `Bearer ${bearer}`);
      }
      return request;
    },
    async onResponse({ response }) {
      if (response.status === 401 || response.status === 403) {
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => null);
        if (credentialsRefused(response.status, body)) {
          onRefused();
        }
      }
      return response;
    },
  });
  return client;
}
