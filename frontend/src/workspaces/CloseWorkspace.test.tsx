import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { App } from "../App";
import { TOKEN_KEY } from "../auth/token";
import { WORKSPACE_ID, workspaceDetail } from "../test/fixtures";
import { VIEWER, fakeServer } from "../test/graphqlServer";

function readiness(state: string, reasons: string[] = []) {
  return {
    executionWorkspace: {
      __typename: "ExecutionWorkspace",
      id: WORKSPACE_ID,
      closeReadiness: {
        __typename: "CloseReadiness",
        state,
        reasons,
        warnings: [],
        steps: ["remove worktree"],
      },
    },
  };
}

function openWorkspace(readinessAnswer: object, status = "ACTIVE") {
  localStorage.setItem(TOKEN_KEY, "good");
  window.history.replaceState(null, "", `/workspaces/${WORKSPACE_ID}`);
  let current = workspaceDetail({ status: status as "ACTIVE" });
  const server = fakeServer({
    Viewer: VIEWER,
    WorkspacePage: () => ({ executionWorkspace: current }),
    CloseReadiness: readinessAnswer,
    CloseWorkspace: () => {
      current = workspaceDetail({ status: "ARCHIVED" });
      return { closeExecutionWorkspace: current };
    },
  });
  render(<App />);
  return server;
}

const closes = (server: ReturnType<typeof fakeServer>) =>
  server.requests.filter((r) => r.operationName === "CloseWorkspace");

describe("close workspace", () => {
  it("closes without force when nothing stands in the way", async () => {
    const server = openWorkspace(readiness("READY"));
    fireEvent.click(
      await screen.findByRole("button", { name: "Close workspace" }),
    );
    const dialog = await screen.findByRole("dialog");
    expect(await within(dialog).findByText("Ready to close")).toBeDefined();
    expect(
      within(dialog).queryByRole("button", { name: "Force close" }),
    ).toBeNull();

    fireEvent.click(
      within(dialog).getByRole("button", { name: "Close workspace" }),
    );

    expect(await screen.findByText("Workspace closed.")).toBeDefined();
    expect(closes(server)[0]?.variables).toEqual({
      id: WORKSPACE_ID,
      force: false,
    });
  });

  it("asks for force when the close is blocked, and says why", async () => {
    const reason = "Uncommitted work: 2 modified and 0 untracked files.";
    const server = openWorkspace(readiness("BLOCKED", [reason]));
    fireEvent.click(
      await screen.findByRole("button", { name: "Close workspace" }),
    );
    const dialog = await screen.findByRole("dialog");
    expect(await within(dialog).findByText(reason)).toBeDefined();

    fireEvent.click(
      within(dialog).getByRole("button", { name: "Force close" }),
    );

    expect(await screen.findByText("Workspace closed.")).toBeDefined();
    expect(closes(server)[0]?.variables).toEqual({
      id: WORKSPACE_ID,
      force: true,
    });
  });

  it("offers Retry close after a failed close", async () => {
    openWorkspace(readiness("READY"), "CLEANUP_FAILED");
    expect(
      await screen.findByRole("button", { name: "Retry close" }),
    ).toBeDefined();
  });
});
