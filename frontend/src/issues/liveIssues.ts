import {
  ProjectIssuesChangedDocument,
  ProjectRunsChangedDocument,
} from "../graphql/generated";
import { useRefreshOn } from "../graphql/live";

/**
 * Keeps a screen that shows issues of a project live: `refresh` runs when
 * someone creates or changes an issue (title, status, assignee…) and when a
 * run starts or ends (the live-run highlight).
 */
export function useLiveIssues(
  projectId: string,
  refresh: () => void,
  enabled = true,
): void {
  const variables = { projectId };
  useRefreshOn(ProjectIssuesChangedDocument, variables, refresh, enabled);
  useRefreshOn(ProjectRunsChangedDocument, variables, refresh, enabled);
}
