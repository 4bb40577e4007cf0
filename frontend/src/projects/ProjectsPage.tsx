import type { ReactNode } from "react";
import { gql, useQuery } from "urql";

import { Alert } from "../ui/Alert";
import { AppHeader } from "../ui/AppHeader";
import { ProjectList } from "./ProjectList";
import type { ProjectSummary, Viewer } from "./types";

interface ProjectsPageData {
  viewer: Viewer;
  projects: ProjectSummary[];
}

const ProjectsPageQuery = gql<ProjectsPageData>`
  query ProjectsPage {
    viewer {
      role
      name
    }
    projects {
      id
      key
      name
      description
      defaultWorkspaceMode
    }
  }
`;

export function ProjectsPage({ onSignOut }: { onSignOut: () => void }) {
  const [{ data, fetching, error }] = useQuery({ query: ProjectsPageQuery });

  let content: ReactNode = null;
  if (data !== undefined) {
    content = <ProjectList projects={data.projects} />;
  } else if (error !== undefined) {
    content = <Alert>Could not load the projects: {error.message}</Alert>;
  } else if (fetching) {
    content = <p className="muted">Loading projects…</p>;
  }

  return (
    <>
      <AppHeader viewerName={data?.viewer.name} onSignOut={onSignOut} />
      <main className="page">
        <h2>Projects</h2>
        {content}
      </main>
    </>
  );
}
