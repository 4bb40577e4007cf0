import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { App } from "../App";
import { TOKEN_KEY } from "../auth/token";
import { WORKSPACE_ID, workspaceDetail } from "../test/fixtures";
import { FakeSocket } from "../test/FakeSocket";
import { VIEWER, fakeServer, type Answer } from "../test/graphqlServer";

function openWorkspace(answers: Record<string, Answer>) {
  localStorage.setItem(TOKEN_KEY, "good");
  window.history.replaceState(null, "", `/workspaces/${WORKSPACE_ID}`);
  const server = fakeServer({
    Viewer: VIEWER,
    WorkspacePage: { executionWorkspace: workspaceDetail() },
    ...answers,
  });
  render(<App />);
  return server;
}

const runningWeb = {
  __typename: "RuntimeService" as const,
  id: "s1",
  name: "web",
  status: "RUNNING" as const,
  health: "HEALTHY" as const,
  pid: 4242,
  port: 20000,
  url: "http://127.0.0.1:20000",
  exitCode: null,
  failureReason: null,
  startOperation: { __typename: "WorkspaceOperation" as const, id: "run-1" },
};

describe("workspace commands panel actions", () => {
  it("shows a start as pending and sends it once", async () => {
    let answer: (data: object) => void = () => {};
    const server = openWorkspace({
      StartWorkspaceService: () =>
        new Promise<object>((resolve) => {
          answer = resolve;
        }),
    });
    const start = await screen.findByRole("button", { name: "Start web" });

    fireEvent.click(start);
    fireEvent.click(start);

    expect(await screen.findByText("Starting web…")).toBeDefined();
    expect((start as HTMLButtonElement).disabled).toBe(true);
    const starts = server.requests.filter(
      (r) => r.operationName === "StartWorkspaceService",
    );
    expect(starts).toHaveLength(1);
    expect(starts[0]?.variables).toEqual({
      workspaceId: WORKSPACE_ID,
      name: "web",
    });

    answer({
      startWorkspaceService: {
        __typename: "WorkspaceServicesSuccess",
        services: [runningWeb],
      },
    });
    expect(await screen.findByText("Workspace service started.")).toBeDefined();
    expect(screen.queryByText("Starting web…")).toBeNull();
  });

  it("shows a failed job's error in red", async () => {
    openWorkspace({
      RunWorkspaceJob: {
        runWorkspaceJob: {
          __typename: "RunWorkspaceJobSuccess",
          operation: {
            __typename: "WorkspaceOperation",
            id: "o1",
            status: "FAILED",
            exitCode: 3,
            stderrExcerpt: "warming up\nno database\n",
          },
        },
      },
    });
    fireEvent.click(await screen.findByRole("button", { name: "Run migrate" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe(
      "Workspace job failed with exit code 3: no database",
    );
    expect(alert.className).toBe("alert");
  });

  it("shows the server's refusal", async () => {
    openWorkspace({
      StopWorkspaceService: {
        stopWorkspaceService: {
          __typename: "ConflictError",
          message: "Service web is already stopping.",
        },
      },
      WorkspacePage: {
        executionWorkspace: workspaceDetail({
          commands: [
            {
              __typename: "WorkspaceCommand",
              name: "web",
              kind: "SERVICE",
              command: "npm run dev",
              port: "auto",
              service: runningWeb,
            },
          ],
        }),
      },
    });
    const services = await screen.findByRole("list", { name: "Services" });
    expect(within(services).getByText("Running")).toBeDefined();
    fireEvent.click(within(services).getByRole("button", { name: "Stop web" }));

    expect((await screen.findByRole("alert")).textContent).toBe(
      "Service web is already stopping.",
    );
  });

  it("disables every action without a working directory", async () => {
    openWorkspace({
      WorkspacePage: { executionWorkspace: workspaceDetail({ cwd: "" }) },
    });
    const run = await screen.findByRole("button", { name: "Run migrate" });
    expect((run as HTMLButtonElement).disabled).toBe(true);
    const start = screen.getByRole("button", { name: "Start web" });
    expect((start as HTMLButtonElement).disabled).toBe(true);
  });

  it("starts every service at once and holds each one's buttons meanwhile", async () => {
    let answer: (data: object) => void = () => {};
    const server = openWorkspace({
      StartAllWorkspaceServices: () =>
        new Promise<object>((resolve) => {
          answer = resolve;
        }),
    });
    const startAll = await screen.findByRole("button", {
      name: "Start all services",
    });
    expect(
      (
        screen.getByRole("button", {
          name: "Stop all services",
        }) as HTMLButtonElement
      ).disabled,
    ).toBe(true); // nothing runs yet

    fireEvent.click(startAll);
    fireEvent.click(startAll);
    fireEvent.click(screen.getByRole("button", { name: "Start web" }));

    expect(await screen.findByText("Starting all services…")).toBeDefined();
    const sent = server.requests.map((r) => r.operationName);
    expect(sent.filter((n) => n === "StartAllWorkspaceServices")).toHaveLength(
      1,
    );
    expect(sent).not.toContain("StartWorkspaceService");
    const startAllRequest = server.requests.find(
      (r) => r.operationName === "StartAllWorkspaceServices",
    );
    expect(startAllRequest?.variables).toEqual({ workspaceId: WORKSPACE_ID });
    const start = screen.getByRole("button", { name: "Start web" });
    expect((start as HTMLButtonElement).disabled).toBe(true);
    expect(start.textContent).toBe("Starting…");

    answer({
      startWorkspaceService: {
        __typename: "WorkspaceServicesSuccess",
        services: [runningWeb],
      },
    });
    expect(
      await screen.findByText("Workspace services started."),
    ).toBeDefined();
  });

  it("shows why stopping every service failed", async () => {
    openWorkspace({
      WorkspacePage: {
        executionWorkspace: workspaceDetail({
          commands: [
            {
              __typename: "WorkspaceCommand",
              name: "web",
              kind: "SERVICE",
              command: "npm run dev",
              port: "auto",
              service: runningWeb,
            },
          ],
        }),
      },
      StopAllWorkspaceServices: {
        stopWorkspaceService: {
          __typename: "ForbiddenError",
          message: "Workspace w is not linked to an issue of agent a.",
        },
      },
    });
    const startAll = await screen.findByRole("button", {
      name: "Start all services",
    });
    expect((startAll as HTMLButtonElement).disabled).toBe(true); // all running
    fireEvent.click(screen.getByRole("button", { name: "Stop all services" }));

    expect((await screen.findByRole("alert")).textContent).toBe(
      "Workspace w is not linked to an issue of agent a.",
    );
  });

  it("opens a service's output from serviceLog, for its current run", async () => {
    openWorkspace({
      WorkspacePage: {
        executionWorkspace: workspaceDetail({
          commands: [
            {
              __typename: "WorkspaceCommand",
              name: "web",
              kind: "SERVICE",
              command: "npm run dev",
              port: "auto",
              service: runningWeb,
            },
          ],
        }),
      },
    });
    const toggle = await screen.findByRole("button", { name: "Output of web" });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await screen.findByLabelText("Live output of web")).toBeDefined();

    const socket = FakeSocket.opened[0]!;
    socket.onmessage?.({ data: JSON.stringify({ type: "connection_ack" }) });
    await vi.waitFor(() => {
      const logs = socket.sent.filter(
        (m) =>
          (m as { payload?: { query?: string } }).payload?.query?.includes(
            "serviceLog",
          ) === true,
      );
      expect(logs).toHaveLength(1);
      expect(
        (logs[0] as { payload: { variables: object } }).payload.variables,
      ).toEqual({
        workspaceId: WORKSPACE_ID,
        name: "web",
        operationId: "run-1",
        offset: 0,
      });
    });
  });
});
