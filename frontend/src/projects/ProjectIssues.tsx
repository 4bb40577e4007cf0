import { useQuery } from "urql";

import {
  ProjectIssuesDocument,
  ProjectRunsChangedDocument,
} from "../graphql/generated";
import { useRefreshOn } from "../graphql/live";
import { IssueTable } from "../issues/IssueTable";
import { PROJECT_ISSUES_VIEW_PREFIX, viewKey } from "../issues/issueView";
import { LoadState } from "../ui/Loading";

export function ProjectIssues({ projectId }: { projectId: string }) {
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: ProjectIssuesDocument,
    variables: { projectId },
  });
  useRefreshOn(ProjectRunsChangedDocument, { projectId }, () =>
    reexecute({ requestPolicy: "network-only" }),
  );
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
