import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { App } from "../App";
import { TOKEN_KEY } from "../auth/token";
import { VIEWER, fakeServer } from "../test/graphqlServer";

function workspace(name: string, status: string) {
  return {
    __typename: "ExecutionWorkspace",
    id: `id-${name}`,
    name,
    mode: "ISOLATED",
    providerType: "GIT_WORKTREE",
    status,
    openedAt: "2026-12-01T09:30:00+00:00",
    lastUsedAt: "2026-12-02T16:05:00+00:00",
    sourceIssue: null,
  };
}

function openProject() {
  localStorage.setItem(TOKEN_KEY, "good");
  window.history.replaceState(null, "", "/projects/p1");
  const server = fakeServer({
    Viewer: VIEWER,
    ProjectPage: {
      project: {
        __typename: "Project",
        id: "p1",
        key: "PAP",
        name: "Paperwork",
        description: "",
      },
    },
    WorkspaceList: ({ includeArchived }) => ({
      executionWorkspaces: [
        workspace("PAP-3-broken-close", "CLEANUP_FAILED"),
        workspace("PAP-2-active", "ACTIVE"),
        ...(includeArchived ? [workspace("PAP-1-done", "ARCHIVED")] : []),
      ],
    }),
  });
  render(<App />);
  return server;
}

describe("a project's workspaces", () => {
  it("hides archived workspaces until asked", async () => {
    const server = openProject();
    await screen.findByText("PAP-2-active");
    expect(screen.queryByText("PAP-1-done")).toBeNull();

    fireEvent.click(screen.getByLabelText("Show archived workspaces"));

    expect(await screen.findByText("PAP-1-done")).toBeDefined();
    const lists = server.requests.filter(
      (r) => r.operationName === "WorkspaceList",
    );
    expect(lists.map((r) => r.variables.includeArchived)).toEqual([
      false,
      true,
    ]);
  });

  it("makes a failed cleanup stand out", async () => {
    openProject();
    const link = await screen.findByText("PAP-3-broken-close");
    const row = link.closest("tr")!;

    expect(row.className).toBe("row-failed");
    expect(within(row).getByText("Cleanup failed")).toBeDefined();
    const active = screen.getByText("PAP-2-active").closest("tr")!;
    expect(active.className).toBe("");
  });
});
