import type { WorkspaceDetailFragment } from "../graphql/generated";
import { CloseWorkspace } from "./CloseWorkspace";
import { WorkspaceContextCard } from "./WorkspaceContextCard";
import { WorkspaceLocationCard } from "./WorkspaceLocationCard";
import { WorkspaceSettingsCard } from "./WorkspaceSettingsCard";

export function ConfigurationTab({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  return (
    <div className="configuration">
      <WorkspaceSettingsCard
        workspace={workspace}
        actions={<CloseWorkspace workspace={workspace} />}
      />
      <div className="stack">
        <WorkspaceContextCard workspace={workspace} />
        <WorkspaceLocationCard workspace={workspace} />
      </div>
    </div>
  );
}
