// Every screen's address, built and recognised in one place.

export type Route =
  | { screen: "projects" }
  | { screen: "project"; projectId: string; tab: ProjectTab }
  | { screen: "workspace"; workspaceId: string }
  | { screen: "issue"; identifier: string }
  | { screen: "agents" }
  | { screen: "not-found" };

export type ProjectTab = "workspaces" | "issues";

export const paths = {
  projects: () => "/",
  project: (projectId: string, tab: ProjectTab = "workspaces") =>
    `/projects/${encodeURIComponent(projectId)}/${tab}`,
  workspace: (workspaceId: string) =>
    `/workspaces/${encodeURIComponent(workspaceId)}`,
  issue: (identifier: string) => `/issues/${encodeURIComponent(identifier)}`,
  agents: () => "/agents",
};

export function matchRoute(path: string): Route {
  const parts = path
    .split("/")
    .filter((part) => part !== "")
    .map(decodeURIComponent);
  const [first, id, tab] = parts;

  if (parts.length === 0) return { screen: "projects" };
  if (first === "agents" && parts.length === 1) return { screen: "agents" };
  if (first === "projects" && id !== undefined && parts.length <= 3) {
    if (tab === undefined || tab === "workspaces" || tab === "issues") {
      return { screen: "project", projectId: id, tab: tab ?? "workspaces" };
    }
  }
  if (first === "workspaces" && id !== undefined && parts.length === 2) {
    return { screen: "workspace", workspaceId: id };
  }
  if (first === "issues" && id !== undefined && parts.length === 2) {
    return { screen: "issue", identifier: id };
  }
  return { screen: "not-found" };
}
