import { AuditScreen } from "./Audit";
import { AdminScreen } from "./Admin";
import { CaseScreen, CasesScreen } from "./Cases";
import { CameraScreen } from "./Camera";
import { DpoScreen } from "./Dpo";
import { NoticeScreen } from "./Notice";
import { RequestScreen } from "./SubjectRequest";
import type { Route } from "./routes";
import { ShareScreen } from "./Share";
import { WallScreen } from "./Wall";

export function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case "wall":
      return <WallScreen site={route.site} />;
    case "camera":
      return <CameraScreen site={route.site} camera={route.camera} day={route.day} />;
    case "cases":
      return <CasesScreen site={route.site} />;
    case "case":
      return <CaseScreen caseId={route.caseId} />;
    case "dpo":
      return <DpoScreen site={route.site} />;
    case "request":
      return <RequestScreen requestId={route.requestId} />;
    case "audit":
      return <AuditScreen site={route.site} />;
    case "admin":
      return <AdminScreen site={route.site} />;
    case "notice":
      return <NoticeScreen site={route.site} />;
    case "share":
      return <ShareScreen token={route.token} />;
    case "home":
      return null;
  }
}
