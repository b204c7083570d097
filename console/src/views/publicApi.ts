// The public pages (notice, a share's recipient) call the API without credentials.
import { useMemo } from "preact/hooks";
import { type ApiClient, apiRoot, makeClient } from "../api/client";

export function usePublicApi(): ApiClient {
  return useMemo(
    () =>
      makeClient(
        apiRoot(location),
        () => Promise.resolve(null),
        () => undefined,
      ),
    [],
  );
}
