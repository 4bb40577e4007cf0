import { useQuery } from "urql";

import { ProjectIssuesDocument } from "../graphql/generated";
import { IssueTable } from "../issues/IssueTable";
import { useLiveIssues } from "../issues/liveIssues";
import { PROJECT_ISSUES_VIEW_PREFIX, viewKey } from "../issues/issueView";
import { LoadState } from "../ui/Loading";

export function ProjectIssues({ projectId }: { projectId: string }) {
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: ProjectIssuesDocument,
    variables: { projectId },
  });
  useLiveIssues(projectId, () => reexecute({ requestPolicy: "network-only" }));
  if (data === undefined) {
    return <LoadState what="the issues" fetching={fetching} error={error} />;
  }
  return (
    <IssueTable
      issues={data.issues}
      agents={data.agents}
      viewStorageKey={viewKey(PROJECT_ISSUES_VIEW_PREFIX, projectId)}
      emptyText="This project has no issues yet."
    />
  );
}
