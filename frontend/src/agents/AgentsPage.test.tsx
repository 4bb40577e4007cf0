import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { App } from "../App";
import { TOKEN_KEY } from "../auth/token";
import { VIEWER, fakeServer, type Answer } from "../test/graphqlServer";

interface StoredAgent {
  __typename: "Agent";
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

function stored(name: string, revokedAt: string | null = null): StoredAgent {
  return {
    __typename: "Agent",
    id: `id-${name}`,
    name,
    createdAt: "2026-12-01T09:30:00+00:00",
    revokedAt,
  };
}

/** Something the test answers later, to look at the screen meanwhile. */
function deferred() {
  let resolve: (data: object) => void = () => {};
  const promise = new Promise<object>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * Opens the Agents screen against a server that keeps its agents in
 * `agents` and answers CreateAgent and RevokeAgent as `answers` say,
 * or as the real one would.
 */
function openAgents(
  agents: StoredAgent[],
  answers: Record<string, Answer> = {},
) {
  localStorage.setItem(TOKEN_KEY, "good");
  window.history.replaceState(null, "", "/agents");
  const server = fakeServer({
    Viewer: VIEWER,
    ProjectsPage: { projects: [] },
    AgentList: ({ includeRevoked }) => ({
      agents: agents.filter((a) => includeRevoked || a.revokedAt === null),
    }),
    CreateAgent: ({ input }) => {
      const agent = stored((input as { name: string }).name);
      agents.push(agent);
      const token = `token-of-${agent.name}`;
      return {
        createAgent: { __typename: "CreateAgentSuccess", token, agent },
      };
    },
    RevokeAgent: ({ agentId }) => {
      const agent = agents.find((a) => a.id === agentId)!;
      agent.revokedAt = "2026-12-03T10:00:00+00:00";
      return { revokeAgent: { ...agent } };
    },
    ...answers,
  });
  render(<App />);
  return server;
}

const sent = (server: ReturnType<typeof fakeServer>, name: string) =>
  server.requests.filter((r) => r.operationName === name);

async function create(name: string) {
  fireEvent.change(await screen.findByLabelText("Name"), {
    target: { value: name },
  });
  fireEvent.click(screen.getByRole("button", { name: "Create agent" }));
}

const tokenBox = () => screen.queryByRole("region", { name: /^Token for / });

async function rowOf(name: string) {
  const cell = await screen.findByText(name, { selector: "td" });
  return cell.closest("tr")!;
}

/** The confirmation a Revoke opens, in a row of its own under the agent's. */
const confirmation = (name: string) =>
  screen.getByRole("group", { name: `Confirm revoking ${name}` });

describe("the agents list", () => {
  it("is reached from the header and hides revoked agents until asked", async () => {
    const server = openAgents([
      stored("coder"),
      stored("old-bot", "2026-12-02T08:00:00+00:00"),
    ]);
    const nav = screen.getByRole("navigation", { name: "Sections" });
    expect(within(nav).getByRole("link", { name: "Agents" }).ariaCurrent).toBe(
      "true",
    );

    expect(within(await rowOf("coder")).getByText("Active")).toBeDefined();
    expect(screen.queryByText("old-bot")).toBeNull();

    fireEvent.click(screen.getByLabelText("Show revoked agents"));

    const revoked = await rowOf("old-bot");
    expect(within(revoked).getByText("Revoked")).toBeDefined();
    expect(within(revoked).queryByRole("button")).toBeNull();
    expect(sent(server, "AgentList").map((r) => r.variables)).toEqual([
      { includeRevoked: false },
      { includeRevoked: true },
    ]);
  });
});

describe("a new agent", () => {
  it("shows its token once, with how to use it, and joins the list", async () => {
    openAgents([]);
    expect(await screen.findByText("No active agents.")).toBeDefined();

    await create("coder");

    const box = await screen.findByRole("region", { name: "Token for coder" });
    expect(within(box).getByText("token-of-coder")).toBeDefined();
    expect(
      within(box).getByText("Copy it now: it will not be shown again."),
    ).toBeDefined();
    expect(
      within(box).getByRole("button", { name: "Copy token" }),
    ).toBeDefined();
    expect(box.querySelector("pre")?.textContent).toContain(
      "Authorization: Bearer token-of-coder",
    );
    expect(document.activeElement?.textContent).toBe("Token for coder");
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("");
    expect(within(await rowOf("coder")).getByText("Active")).toBeDefined();

    fireEvent.click(
      within(box).getByRole("button", { name: "Done, hide the token" }),
    );
    expect(tokenBox()).toBeNull();
  });

  it("drops the shown token as soon as another agent is asked for", async () => {
    const second = deferred();
    let creations = 0;
    openAgents([], {
      CreateAgent: ({ input }) => {
        creations += 1;
        const agent = stored((input as { name: string }).name);
        const answer = {
          createAgent: {
            __typename: "CreateAgentSuccess",
            token: `token-${creations}`,
            agent,
          },
        };
        return creations === 1 ? answer : second.promise.then(() => answer);
      },
    });
    await create("coder");
    expect(await screen.findByText("token-1")).toBeDefined();

    await create("reviewer");

    expect(
      await screen.findByRole("button", { name: "Creating…" }),
    ).toBeDefined();
    expect(tokenBox()).toBeNull();
    expect(screen.queryByText("token-1")).toBeNull();
    second.resolve({});
    expect(await screen.findByText("token-2")).toBeDefined();
    expect(screen.queryByText("token-1")).toBeNull();
  });

  it("is forgotten when the operator leaves the screen", async () => {
    openAgents([]);
    await create("coder");
    expect(await screen.findByText("token-of-coder")).toBeDefined();

    fireEvent.click(screen.getByRole("link", { name: "Projects" }));
    expect(await screen.findByText("No projects yet.")).toBeDefined();
    fireEvent.click(screen.getByRole("link", { name: "Agents" }));

    expect(await rowOf("coder")).toBeDefined();
    expect(tokenBox()).toBeNull();
    expect(screen.queryByText("token-of-coder")).toBeNull();
  });

  it("says next to the name why the server refused it, keeping the name", async () => {
    const message =
      "An active agent named 'coder' already exists; choose another name " +
      "or revoke that agent first.";
    openAgents([stored("coder")], {
      CreateAgent: {
        createAgent: { __typename: "ConflictError", message },
      },
    });

    await create("coder");

    const error = await screen.findByRole("alert");
    expect(error.textContent).toBe(message);
    expect(error.className).toBe("field-error");
    const name = screen.getByLabelText("Name") as HTMLInputElement;
    expect(name.value).toBe("coder");
    expect(name.getAttribute("aria-invalid")).toBe("true");
    expect(name.getAttribute("aria-describedby")).toBe(error.id);
    expect(tokenBox()).toBeNull();

    fireEvent.change(name, { target: { value: "coder-2" } });
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("revoking an agent", () => {
  it("asks first, sends once while pending and then shows it revoked", async () => {
    const answer = deferred();
    const server = openAgents([stored("coder")], {
      RevokeAgent: () => answer.promise,
    });
    const row = await rowOf("coder");

    fireEvent.click(within(row).getByRole("button", { name: "Revoke coder" }));
    expect(sent(server, "RevokeAgent")).toHaveLength(0);
    const confirm = within(confirmation("coder")).getByRole("button", {
      name: "Confirm revoke",
    });
    fireEvent.click(confirm);
    fireEvent.click(confirm);

    expect(confirm.textContent).toBe("Revoking…");
    expect((confirm as HTMLButtonElement).disabled).toBe(true);
    const revoke = within(row).getByRole("button", { name: "Revoke coder" });
    expect((revoke as HTMLButtonElement).disabled).toBe(true);

    answer.resolve({
      revokeAgent: stored("coder", "2026-12-03T10:00:00+00:00"),
    });

    // The list asked again without revoked agents, yet the row stays.
    expect(await within(row).findByText("Revoked")).toBeDefined();
    expect(within(row).queryByRole("button")).toBeNull();
    expect(screen.queryByRole("group")).toBeNull();
    expect(sent(server, "RevokeAgent").map((r) => r.variables)).toEqual([
      { agentId: "id-coder" },
    ]);
  });

  it("can be called off with Cancel or Escape", async () => {
    const server = openAgents([stored("coder")]);
    const row = await rowOf("coder");
    const revoke = within(row).getByRole("button", { name: "Revoke coder" });

    fireEvent.click(revoke);
    expect(revoke.getAttribute("aria-expanded")).toBe("true");
    fireEvent.click(
      within(confirmation("coder")).getByRole("button", { name: "Cancel" }),
    );
    expect(screen.queryByRole("group")).toBeNull();
    expect(document.activeElement).toBe(revoke);

    fireEvent.click(revoke);
    fireEvent.keyDown(screen.getByText("Confirm revoke"), { key: "Escape" });
    expect(screen.queryByRole("group")).toBeNull();
    expect(revoke.getAttribute("aria-expanded")).toBe("false");
    expect(sent(server, "RevokeAgent")).toHaveLength(0);
  });

  it("shows a refusal under the row and lets the operator try again", async () => {
    openAgents([stored("coder")], {
      RevokeAgent: {
        revokeAgent: {
          __typename: "NotFoundError",
          message: "No agent with id 'id-coder'.",
        },
      },
    });
    const row = await rowOf("coder");

    fireEvent.click(within(row).getByRole("button", { name: "Revoke coder" }));
    fireEvent.click(screen.getByRole("button", { name: "Confirm revoke" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("No agent with id 'id-coder'.");
    expect(alert.className).toBe("alert");
    expect(row.nextElementSibling?.contains(alert)).toBe(true);
    expect(within(row).getByText("Active")).toBeDefined();
    const confirm = within(confirmation("coder")).getByRole("button", {
      name: "Confirm revoke",
    });
    expect((confirm as HTMLButtonElement).disabled).toBe(false);
  });
});
