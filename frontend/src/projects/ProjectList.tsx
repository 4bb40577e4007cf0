import type { ProjectsPageQuery, WorkspaceMode } from "../graphql/generated";
import { Link } from "../routing/router";
import { paths } from "../routing/routes";

const MODE_LABELS: Record<WorkspaceMode, string> = {
  ISOLATED: "Isolated workspaces",
  REUSE: "Reused workspaces",
  PROJECT_PRIMARY: "Primary checkout",
};

type ProjectSummary = ProjectsPageQuery["projects"][number];

export function ProjectList({ projects }: { projects: ProjectSummary[] }) {
  if (projects.length === 0) {
    return <p className="empty">No projects yet.</p>;
  }
  return (
    <ul className="project-list">
      {projects.map((project) => (
        <li key={project.id} className="card project">
          <div className="project-heading">
            <span className="project-key">{project.key}</span>
            <h3>
              <Link to={paths.project(project.id)}>{project.name}</Link>
            </h3>
          </div>
          {project.description !== "" && <p>{project.description}</p>}
          <p className="muted small">
            {MODE_LABELS[project.defaultWorkspaceMode]}
          </p>
        </li>
      ))}
    </ul>
  );
}
