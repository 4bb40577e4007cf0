import type { ProjectSummary, WorkspaceMode } from "./types";

const MODE_LABELS: Record<WorkspaceMode, string> = {
  ISOLATED: "Isolated workspaces",
  REUSE: "Reused workspaces",
  PROJECT_PRIMARY: "Primary checkout",
};

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
            <h3>{project.name}</h3>
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
