import type { VNode } from "preact";
import { AuditScreen } from "./Audit";
import { AdminScreen } from "./Admin";
import { CaseScreen, CasesScreen } from "./Cases";
import { CameraScreen } from "./Camera";
import { DpoScreen } from "./Dpo";
import { NoticeScreen } from "./Notice";
import { RequestScreen } from "./SubjectRequest";
import type { Route } from "./routes";
import { ShareScreen } from "./Share";
import { ShareRedactionScreen } from "./ShareRedaction";
import { WallScreen } from "./Wall";

type Of<S extends Route["screen"]> = Extract<Route, { screen: S }>;

// One renderer per screen, typed by its route (a table rather than a switch: the screens keep coming).
const SCREENS: { [S in Route["screen"]]: (route: Of<S>) => VNode | null } = {
  wall: (route) => <WallScreen site={route.site} />,
  camera: (route) => <CameraScreen site={route.site} camera={route.camera} day={route.day} />,
  cases: (route) => <CasesScreen site={route.site} />,
  case: (route) => <CaseScreen caseId={route.caseId} />,
  dpo: (route) => <DpoScreen site={route.site} />,
  request: (route) => <RequestScreen requestId={route.requestId} />,
  "redact-share": (route) => <ShareRedactionScreen shareId={route.shareId} />,
  audit: (route) => <AuditScreen site={route.site} />,
  admin: (route) => <AdminScreen site={route.site} />,
  notice: (route) => <NoticeScreen site={route.site} />,
  share: (route) => <ShareScreen token={route.token} />,
  home: () => null,
};

export function Screen({ route }: { route: Route }) {
  const render = SCREENS[route.screen] as (route: Route) => VNode | null;
  return render(route);
}
