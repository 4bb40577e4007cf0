import { useQuery } from "urql";

import {
  ProjectWorkspacesChangedDocument,
  WorkspacePageDocument,
  WorkspaceServicesChangedDocument,
  type WorkspaceDetailFragment,
} from "../graphql/generated";
import { useRefreshOn } from "../graphql/live";
import { useTitle } from "../routing/router";
import { paths } from "../routing/routes";
import { Breadcrumbs } from "../ui/Breadcrumbs";
import { LoadState } from "../ui/Loading";
import { Pill } from "../ui/Pill";
import { Tabs } from "../ui/Tabs";
import { CommandsPanel } from "./CommandsPanel";
import { ConfigurationTab } from "./ConfigurationTab";
import {
  MODE_LABELS,
  PROVIDER_LABELS,
  STATUS_LABELS,
  STATUS_TONES,
} from "./labels";
import { RuntimeLogsTab } from "./RuntimeLogsTab";
import { WORKSPACE_TABS, useWorkspaceTab } from "./tabMemory";
import { WorkspaceIssuesTab } from "./WorkspaceIssuesTab";

/** The workspace detail screen. */
export function WorkspacePage({ id }: { id: string }) {
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: WorkspacePageDocument,
    variables: { id },
  });
  const [tab, selectTab] = useWorkspaceTab(id);
  const workspace = data?.executionWorkspace;
  const projectId = workspace?.project.id ?? "";

  // Services, settings and status change under the operator's eyes.
  const refresh = () => reexecute({ requestPolicy: "network-only" });
  useRefreshOn(WorkspaceServicesChangedDocument, { workspaceId: id }, refresh);
  useRefreshOn(
    ProjectWorkspacesChangedDocument,
    { projectId },
    refresh,
    projectId !== "",
  );
  useTitle(workspace?.name ?? "Workspace");

  if (workspace === undefined) {
    return <LoadState what="the workspace" fetching={fetching} error={error} />;
  }
  if (workspace === null) return <p className="empty">No such workspace.</p>;

  return (
    <>
      <WorkspaceHeader workspace={workspace} />
      <CommandsPanel workspace={workspace} />
      <Tabs
        label="Workspace"
        tabs={WORKSPACE_TABS}
        selected={tab}
        onSelect={selectTab}
      >
        {tab === "configuration" && <ConfigurationTab workspace={workspace} />}
        {tab === "runtime-logs" && <RuntimeLogsTab workspaceId={id} />}
        {tab === "issues" && (
          <WorkspaceIssuesTab workspaceId={id} projectId={projectId} />
        )}
      </Tabs>
    </>
  );
}

function WorkspaceHeader({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  const { project } = workspace;
  return (
    <>
      <Breadcrumbs
        crumbs={[
          { label: "Projects", to: paths.projects() },
          { label: project.name, to: paths.project(project.id) },
          { label: "Workspaces", to: paths.project(project.id, "workspaces") },
          { label: workspace.name },
        ]}
      />
      <div className="page-heading">
        <h2>{workspace.name}</h2>
        <div className="pills" aria-label="Workspace kind and status">
          <Pill>{MODE_LABELS[workspace.mode]}</Pill>
          <Pill>{PROVIDER_LABELS[workspace.providerType]}</Pill>
          <Pill tone={STATUS_TONES[workspace.status]}>
            {STATUS_LABELS[workspace.status]}
          </Pill>
        </div>
      </div>
    </>
  );
}
