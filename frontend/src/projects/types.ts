// Written by hand until the backend checks in schema.graphql; then these
// give way to types generated from it.

export type ViewerRole = "OPERATOR" | "AGENT";

export type WorkspaceMode = "ISOLATED" | "REUSE" | "PROJECT_PRIMARY";

export interface Viewer {
  role: ViewerRole;
  name: string;
}

export interface ProjectSummary {
  id: string;
  key: string;
  name: string;
  description: string;
  defaultWorkspaceMode: WorkspaceMode;
}
