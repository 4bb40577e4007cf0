import { useQuery } from "urql";

import { WorkspaceIssuesDocument } from "../graphql/generated";
import { IssueTable } from "../issues/IssueTable";
import { useLiveIssues } from "../issues/liveIssues";
import { WORKSPACE_ISSUES_VIEW_PREFIX, viewKey } from "../issues/issueView";
import { LoadState } from "../ui/Loading";

/** Every issue linked to the workspace: source, follow-ups, inheritors. */
export function WorkspaceIssuesTab(props: {
  workspaceId: string;
  projectId: string;
}) {
  const { workspaceId, projectId } = props;
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: WorkspaceIssuesDocument,
    variables: { id: workspaceId },
  });
  useLiveIssues(projectId, () => reexecute({ requestPolicy: "network-only" }));
  if (data === undefined) {
    return <LoadState what="the issues" fetching={fetching} error={error} />;
  }
  return (
    <IssueTable
      issues={data.issues}
      agents={data.agents}
      viewStorageKey={viewKey(WORKSPACE_ISSUES_VIEW_PREFIX, workspaceId)}
      emptyText="No issue has used this workspace yet."
    />
  );
}
