import {
  fireEvent,
  render,
  screen,
  waitFor,
  within,
} from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { App } from "../App";
import { TOKEN_KEY } from "../auth/token";
import { WORKSPACE_ID, workspaceDetail } from "../test/fixtures";
import { VIEWER, fakeServer, type Answer } from "../test/graphqlServer";
import { tabKey } from "./tabMemory";

const OTHER_ID = "5b0c2d4e-0000-4000-8000-000000000002";

function openWorkspace(id: string, answers: Record<string, Answer> = {}) {
  localStorage.setItem(TOKEN_KEY, "good");
  window.history.replaceState(null, "", `/workspaces/${id}`);
  const server = fakeServer({
    Viewer: VIEWER,
    WorkspacePage: ({ id }) => ({
      executionWorkspace: workspaceDetail({ id: String(id) }),
    }),
    WorkspaceOperations: ({ id }) => ({
      executionWorkspace: {
        __typename: "ExecutionWorkspace",
        id,
        operations: [],
      },
    }),
    WorkspaceIssues: { issues: [], agents: [] },
    ...answers,
  });
  const view = render(<App />);
  return { server, view };
}

function tab(name: string) {
  return screen.getByRole("tab", { name });
}

describe("workspace tabs", () => {
  it("opens on Configuration the first time", async () => {
    openWorkspace(WORKSPACE_ID);

    expect(await screen.findByLabelText("Workspace name")).toBeDefined();
    expect(tab("Configuration").getAttribute("aria-selected")).toBe("true");
  });

  it("reopens each workspace on the tab last used for it", async () => {
    localStorage.setItem(tabKey(OTHER_ID), "issues");
    const { view } = openWorkspace(WORKSPACE_ID);
    fireEvent.click(await screen.findByRole("tab", { name: "Runtime logs" }));

    expect(
      await screen.findByText(
        "No workspace operations have been recorded yet.",
      ),
    ).toBeDefined();
    expect(localStorage.getItem(tabKey(WORKSPACE_ID))).toBe("runtime-logs");
    view.unmount();

    openWorkspace(WORKSPACE_ID);
    await screen.findByRole("heading", { name: "Recent operations" });
    expect(tab("Runtime logs").getAttribute("aria-selected")).toBe("true");
    screen.getByRole("tab", { name: "Runtime logs" });
  });

  it("keeps another workspace on its own tab", async () => {
    localStorage.setItem(tabKey(WORKSPACE_ID), "runtime-logs");
    localStorage.setItem(tabKey(OTHER_ID), "issues");
    openWorkspace(OTHER_ID);

    expect(
      await screen.findByText("No issue has used this workspace yet."),
    ).toBeDefined();
    expect(tab("Issues").getAttribute("aria-selected")).toBe("true");
  });

  it("moves between tabs with the arrow keys", async () => {
    openWorkspace(WORKSPACE_ID);
    const configuration = await screen.findByRole("tab", {
      name: "Configuration",
    });

    fireEvent.keyDown(configuration, { key: "ArrowLeft" });

    expect(tab("Issues").getAttribute("aria-selected")).toBe("true");
    expect(document.activeElement).toBe(tab("Issues"));
  });
});

describe("workspace settings", () => {
  it("blocks a second save while one is pending, then confirms", async () => {
    // The server keeps what was saved; its answer waits for `finish`.
    let saved = workspaceDetail();
    let finish: () => void = () => {};
    const { server } = openWorkspace(WORKSPACE_ID, {
      WorkspacePage: () => ({ executionWorkspace: saved }),
      SaveWorkspaceSettings: () =>
        new Promise<object>((resolve) => {
          finish = () => {
            saved = workspaceDetail({ name: "renamed" });
            resolve({ saveExecutionWorkspace: saved });
          };
        }),
    });
    const name = await screen.findByLabelText("Workspace name");
    fireEvent.change(name, { target: { value: "renamed" } });

    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));

    const pending = await screen.findByRole("button", { name: "Saving…" });
    expect((pending as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(pending);
    const saves = () =>
      server.requests.filter(
        (r) => r.operationName === "SaveWorkspaceSettings",
      );
    expect(saves()).toHaveLength(1);
    expect(saves()[0]?.variables).toEqual({
      id: WORKSPACE_ID,
      input: { name: "renamed" },
    });

    finish();
    expect(await screen.findByText("Workspace settings saved.")).toBeDefined();
    expect((name as HTMLInputElement).value).toBe("renamed");
  });

  it("shows broken runtime JSON inline and does not save", async () => {
    const { server } = openWorkspace(WORKSPACE_ID);
    fireEvent.click(
      await screen.findByLabelText("Inherit project workspace runtime config"),
    );
    fireEvent.change(screen.getByLabelText(/^Runtime JSON/), {
      target: { value: '{"commands": [' },
    });

    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));

    const error = await screen.findByText(/^Invalid JSON: /);
    expect(error.id).toBe("runtime-json-error");
    expect(
      server.requests.some((r) => r.operationName === "SaveWorkspaceSettings"),
    ).toBe(false);
  });

  it("shows the server's validation error by its field", async () => {
    openWorkspace(WORKSPACE_ID, {
      SaveWorkspaceSettings: {
        saveExecutionWorkspace: {
          __typename: "InvalidInputError",
          message: "branchName: expected a git branch name, got 'a..b'",
          field: "branchName",
        },
      },
    });
    const branch = await screen.findByLabelText("Branch name");
    fireEvent.change(branch, { target: { value: "a..b" } });
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));

    const error = await screen.findByText(/expected a git branch name/);
    expect(error.id).toBe("setting-branchName-error");
    expect(branch.getAttribute("aria-invalid")).toBe("true");
  });

  it("Reset goes back to what is saved", async () => {
    openWorkspace(WORKSPACE_ID);
    const name = await screen.findByLabelText("Workspace name");
    fireEvent.change(name, { target: { value: "half-edited" } });

    fireEvent.click(screen.getByRole("button", { name: "Reset" }));

    expect((name as HTMLInputElement).value).toBe("PAP-1-fix-the-login-form");
    expect(
      (
        screen.getByRole("button", {
          name: "Save changes",
        }) as HTMLButtonElement
      ).disabled,
    ).toBe(true);
  });
});

describe("workspace commands panel", () => {
  it("says why nothing can run without a working directory", async () => {
    openWorkspace(WORKSPACE_ID, {
      WorkspacePage: { executionWorkspace: workspaceDetail({ cwd: "" }) },
    });
    const panel = await screen.findByRole("region", {
      name: "Workspace commands",
    });
    expect(within(panel).getByText(/has no working directory/)).toBeDefined();
  });

  it("says so when there is no runtime config", async () => {
    openWorkspace(WORKSPACE_ID, {
      WorkspacePage: {
        executionWorkspace: workspaceDetail({
          runtimeConfigSource: "NONE",
          effectiveRuntimeConfig: null,
          commands: [],
        }),
      },
    });
    const panel = await screen.findByRole("region", {
      name: "Workspace commands",
    });
    await waitFor(() =>
      expect(within(panel).getByText(/^No runtime config/)).toBeDefined(),
    );
  });
});
