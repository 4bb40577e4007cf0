import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";

import { App } from "../App";
import { TOKEN_KEY } from "../auth/token";
import { FakeSocket } from "../test/FakeSocket";
import { WORKSPACE_ID, workspaceDetail } from "../test/fixtures";
import { VIEWER, fakeServer } from "../test/graphqlServer";
import { tabKey } from "./tabMemory";

/** Operation `n` of a workspace that has had 120: the higher, the newer. */
function operation(n: number, status = "SUCCEEDED") {
  const started = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    __typename: "WorkspaceOperation",
    id: `op-${String(n).padStart(3, "0")}`,
    category: "RUNTIME",
    phase: "job",
    command: `echo ${n}`,
    serviceName: null,
    status,
    exitCode: 0,
    startedAt: started,
    finishedAt: started,
    stdoutExcerpt: "",
    stderrExcerpt: "",
  };
}

const ALL = Array.from({ length: 120 }, (_, n) => operation(n)).reverse();

function openRuntimeLogs() {
  localStorage.setItem(TOKEN_KEY, "good");
  localStorage.setItem(tabKey(WORKSPACE_ID), "runtime-logs");
  window.history.replaceState(null, "", `/workspaces/${WORKSPACE_ID}`);
  const server = fakeServer({
    Viewer: VIEWER,
    WorkspacePage: { executionWorkspace: workspaceDetail() },
    WorkspaceOperations: (variables) => {
      const limit = variables.limit as number;
      const before = ALL.findIndex((op) => op.id === variables.before);
      return {
        executionWorkspace: {
          __typename: "ExecutionWorkspace",
          id: WORKSPACE_ID,
          operations: ALL.slice(before + 1, before + 1 + limit),
        },
      };
    },
  });
  render(<App />);
  return server;
}

// Plain DOM queries: role queries over a hundred rows are slow in jsdom.
function shownCommands() {
  const rows = document.querySelectorAll('ol[aria-label="Operations"] > li');
  return [...rows].map((row) => row.querySelector("code")?.textContent);
}

async function shown(count: number) {
  await vi.waitFor(() => expect(shownCommands()).toHaveLength(count), {
    timeout: 10_000,
  });
}

describe("Runtime logs paging", () => {
  it("loads older operations a page at a time until there are none", async () => {
    const server = openRuntimeLogs();
    await shown(50);
    expect(shownCommands()[0]).toBe("echo 119");
    expect(shownCommands()[49]).toBe("echo 70");

    fireEvent.click(screen.getByText("Load older"));
    await shown(100);
    expect(shownCommands()[99]).toBe("echo 20");
    const older = server.requests.filter(
      (r) => r.operationName === "WorkspaceOperations",
    );
    expect(older.at(-1)?.variables).toEqual({
      id: WORKSPACE_ID,
      limit: 51,
      before: "op-070",
    });

    fireEvent.click(screen.getByText("Load older"));
    await shown(120);
    expect(shownCommands()[119]).toBe("echo 0");
    expect(screen.queryByText("Load older")).toBeNull();
  }, 30_000);

  it("shows an operation that starts, on top, from the subscription", async () => {
    openRuntimeLogs();
    await shown(50);
    const socket = FakeSocket.opened[0]!;
    socket.onmessage?.({ data: JSON.stringify({ type: "connection_ack" }) });
    let id = "";
    await vi.waitFor(() => {
      const message = socket.sent.find(
        (m) =>
          (m as { payload?: { query?: string } }).payload?.query?.includes(
            "workspaceOperations",
          ) === true,
      ) as { id: string } | undefined;
      expect(message).toBeDefined();
      id = message!.id;
    });
    const started = { ...operation(500, "RUNNING"), command: "npm test" };
    const next = { data: { workspaceOperations: started } };
    socket.onmessage?.({
      data: JSON.stringify({ id, type: "next", payload: next }),
    });

    await shown(51);
    expect(shownCommands()[0]).toBe("npm test");
  });
});
