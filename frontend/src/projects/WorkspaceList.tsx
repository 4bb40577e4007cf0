import { useState } from "react";
import { useQuery } from "urql";

import {
  ProjectWorkspacesChangedDocument,
  WorkspaceListDocument,
} from "../graphql/generated";
import { useRefreshOn } from "../graphql/live";
import { Link } from "../routing/router";
import { paths } from "../routing/routes";
import { dateTime } from "../ui/format";
import { LoadState } from "../ui/Loading";
import { Pill } from "../ui/Pill";
import {
  MODE_LABELS,
  PROVIDER_LABELS,
  STATUS_LABELS,
  STATUS_TONES,
} from "../workspaces/labels";

/** Every execution workspace of a project; archived ones on request. */
export function WorkspaceList({ projectId }: { projectId: string }) {
  const [showArchived, setShowArchived] = useState(false);
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: WorkspaceListDocument,
    variables: { projectId, includeArchived: showArchived },
  });
  useRefreshOn(ProjectWorkspacesChangedDocument, { projectId }, () =>
    reexecute({ requestPolicy: "network-only" }),
  );
  const workspaces = data?.executionWorkspaces;

  return (
    <section className="stack" aria-label="Execution workspaces">
      <label className="checkbox">
        <input
          type="checkbox"
          checked={showArchived}
          onChange={(event) => setShowArchived(event.target.checked)}
        />
        Show archived workspaces
      </label>
      {workspaces === undefined ? (
        <LoadState what="the workspaces" fetching={fetching} error={error} />
      ) : workspaces.length === 0 ? (
        <p className="empty">No execution workspaces yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Workspace</th>
                <th scope="col">Mode</th>
                <th scope="col">Provider</th>
                <th scope="col">Status</th>
                <th scope="col">Opened</th>
                <th scope="col">Last used</th>
              </tr>
            </thead>
            <tbody>
              {workspaces.map((workspace) => (
                <tr
                  key={workspace.id}
                  className={
                    workspace.status === "CLEANUP_FAILED"
                      ? "row-failed"
                      : undefined
                  }
                >
                  <td>
                    <Link to={paths.workspace(workspace.id)}>
                      {workspace.name}
                    </Link>
                    {workspace.sourceIssue !== null && (
                      <div className="muted small">
                        for {workspace.sourceIssue.identifier}{" "}
                        {workspace.sourceIssue.title}
                      </div>
                    )}
                  </td>
                  <td>{MODE_LABELS[workspace.mode]}</td>
                  <td>{PROVIDER_LABELS[workspace.providerType]}</td>
                  <td>
                    <Pill tone={STATUS_TONES[workspace.status]}>
                      {STATUS_LABELS[workspace.status]}
                    </Pill>
                  </td>
                  <td>{dateTime(workspace.openedAt)}</td>
                  <td>{dateTime(workspace.lastUsedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
