import type { WorkspaceDetailFragment } from "../graphql/generated";
import { Link } from "../routing/router";
import { paths } from "../routing/routes";
import { CopyButton } from "../ui/CopyButton";

/** The objects this workspace is linked to ("Linked objects"). */
export function WorkspaceContextCard({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  const { project, projectWorkspace, sourceIssue, derivedFrom } = workspace;
  return (
    <section className="card stack" aria-labelledby="context-heading">
      <h3 id="context-heading">Workspace context</h3>
      <p className="muted small">Linked objects</p>
      <dl className="facts">
        <dt>Project</dt>
        <dd>
          <Link to={paths.project(project.id)}>{project.name}</Link>
        </dd>
        <dt>Project workspace</dt>
        <dd>{projectWorkspace.name}</dd>
        <dt>Source issue</dt>
        <dd>
          {sourceIssue === null ? (
            "None"
          ) : (
            <Link to={paths.issue(sourceIssue.identifier)}>
              {sourceIssue.identifier} {sourceIssue.title}
            </Link>
          )}
        </dd>
        <dt>Derived from</dt>
        <dd>
          {derivedFrom === null ? (
            "None"
          ) : (
            <Link to={paths.workspace(derivedFrom.id)}>{derivedFrom.name}</Link>
          )}
        </dd>
        <dt>Workspace ID</dt>
        <dd className="with-copy">
          <code>{workspace.id}</code>
          <CopyButton text={workspace.id} label="Copy workspace ID" />
        </dd>
      </dl>
    </section>
  );
}
