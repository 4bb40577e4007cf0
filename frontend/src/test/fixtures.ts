import type { WorkspaceDetailFragment } from "../graphql/generated";

export const WORKSPACE_ID = "5b0c2d4e-0000-4000-8000-000000000001";

export const INHERITED_CONFIG = {
  commands: [
    { name: "web", kind: "service", command: "npm run dev", port: "auto" },
    { name: "migrate", kind: "job", command: "npm run migrate" },
  ],
};

/** A workspace as the detail screen's query returns it. */
export function workspaceDetail(
  changes: Partial<WorkspaceDetailFragment> = {},
): WorkspaceDetailFragment {
  return {
    __typename: "ExecutionWorkspace",
    id: WORKSPACE_ID,
    name: "PAP-1-fix-the-login-form",
    mode: "ISOLATED",
    providerType: "GIT_WORKTREE",
    status: "ACTIVE",
    branchName: "PAP-1-fix-the-login-form",
    cwd: "/srv/worksite/workspaces/PAP-1",
    providerRef: "/srv/worksite/workspaces/PAP-1",
    repoUrl: "https://git.example.test/paperwork.git",
    baseRef: "main",
    provisionCommand: "",
    teardownCommand: "",
    cleanupCommand: "",
    runtimeOverride: null,
    openedAt: "2026-12-01T09:30:00+00:00",
    lastUsedAt: "2026-12-02T16:05:00+00:00",
    closedAt: null,
    cleanupEligibleAt: null,
    cleanupReason: null,
    savedWorkRef: null,
    drift: [],
    runtimeConfigSource: "PROJECT_WORKSPACE_DEFAULT",
    effectiveRuntimeConfig: INHERITED_CONFIG,
    commands: [
      {
        __typename: "WorkspaceCommand",
        name: "web",
        kind: "SERVICE",
        command: "npm run dev",
        port: "auto",
        service: null,
      },
      {
        __typename: "WorkspaceCommand",
        name: "migrate",
        kind: "JOB",
        command: "npm run migrate",
        port: null,
        service: null,
      },
    ],
    project: { __typename: "Project", id: "p1", key: "PAP", name: "Paperwork" },
    projectWorkspace: {
      __typename: "ProjectWorkspace",
      id: "pw1",
      name: "main",
    },
    sourceIssue: {
      __typename: "Issue",
      id: "i1",
      identifier: "PAP-1",
      title: "Fix the login form",
    },
    derivedFrom: null,
    ...changes,
  };
}
