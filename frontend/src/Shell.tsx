import { useQuery } from "urql";

import { AgentsPage } from "./agents/AgentsPage";
import { ViewerDocument } from "./graphql/generated";
import { IssuePage } from "./issues/IssuePage";
import { ProjectPage } from "./projects/ProjectPage";
import { ProjectsPage } from "./projects/ProjectsPage";
import { usePath } from "./routing/router";
import { matchRoute, type Route } from "./routing/routes";
import { AppHeader, type Section } from "./ui/AppHeader";
import { WorkspacePage } from "./workspaces/WorkspacePage";

/** The signed-in app: the header and the screen the address names. */
export function Shell({ onSignOut }: { onSignOut: () => void }) {
  const [{ data }] = useQuery({ query: ViewerDocument });
  const route = matchRoute(usePath());

  return (
    <>
      <AppHeader
        viewerName={data?.viewer.name}
        section={sectionOf(route)}
        onSignOut={onSignOut}
      />
      <main className="page">
        <Screen route={route} />
      </main>
    </>
  );
}

function Screen({ route }: { route: Route }) {
  switch (route.screen) {
    case "projects":
      return <ProjectsPage />;
    case "project":
      return (
        <ProjectPage
          key={route.projectId}
          id={route.projectId}
          tab={route.tab}
        />
      );
    case "workspace":
      return <WorkspacePage key={route.workspaceId} id={route.workspaceId} />;
    case "issue":
      return <IssuePage key={route.identifier} identifier={route.identifier} />;
    case "agents":
      return <AgentsPage />;
    case "not-found":
      return <p className="empty">There is no page at this address.</p>;
  }
}

function sectionOf(route: Route): Section | null {
  switch (route.screen) {
    case "agents":
      return "agents";
    case "not-found":
      return null;
    default:
      return "projects";
  }
}
