import { useQuery } from "urql";

import { ProjectPageDocument } from "../graphql/generated";
import { navigate, useTitle } from "../routing/router";
import { paths, type ProjectTab } from "../routing/routes";
import { Breadcrumbs } from "../ui/Breadcrumbs";
import { LoadState } from "../ui/Loading";
import { Tabs } from "../ui/Tabs";
import { ProjectIssues } from "./ProjectIssues";
import { WorkspaceList } from "./WorkspaceList";

const TABS: { id: ProjectTab; label: string }[] = [
  { id: "workspaces", label: "Workspaces" },
  { id: "issues", label: "Issues" },
];

export function ProjectPage({ id, tab }: { id: string; tab: ProjectTab }) {
  const [{ data, fetching, error }] = useQuery({
    query: ProjectPageDocument,
    variables: { id },
  });
  const project = data?.project;
  useTitle(project?.name ?? "Project");

  if (project === undefined) {
    return <LoadState what="the project" fetching={fetching} error={error} />;
  }
  if (project === null) return <p className="empty">No such project.</p>;

  return (
    <>
      <Breadcrumbs
        crumbs={[
          { label: "Projects", to: paths.projects() },
          { label: project.name },
        ]}
      />
      <div className="page-heading">
        <span className="project-key">{project.key}</span>
        <h2>{project.name}</h2>
      </div>
      {project.description !== "" && <p>{project.description}</p>}
      <Tabs
        label="Project"
        tabs={TABS}
        selected={tab}
        onSelect={(next) => navigate(paths.project(id, next))}
      >
        {tab === "workspaces" ? (
          <WorkspaceList projectId={id} />
        ) : (
          <ProjectIssues projectId={id} />
        )}
      </Tabs>
    </>
  );
}
