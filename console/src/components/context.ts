// What every screen needs: the API, who is logged in, the sites they may see.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { ApiClient, Schemas } from "../api/client";
import type { Identity } from "../auth/session";

export type Site = Schemas["SiteSummary"];

export interface Archive {
  api: ApiClient;
  identity: Identity;
  sites: Site[];
  /** The site's IANA zone; Riga's for a site the caller cannot see (nothing of it is shown anyway). */
  zoneOf: (site: string) => string;
  touch: () => void;
}

export const ArchiveContext = createContext<Archive | null>(null);

export function useArchive(): Archive {
  const archive = useContext(ArchiveContext);
  if (archive === null) {
    throw new Error("useArchive outside a logged-in console");
  }
  return archive;
}
