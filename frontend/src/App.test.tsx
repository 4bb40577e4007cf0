import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { App } from "./App";
import { TOKEN_KEY, captureTokenFromUrl } from "./auth/token";
import {
  answerProjects,
  answerWith,
  authorizationOf,
} from "./test/graphqlServer";

describe("signing in", () => {
  it("takes the token from the sign-in link and hides it", async () => {
    window.history.replaceState(null, "", "/projects?token=s3cret&tab=2#top");
    const fetch = answerProjects([]);

    captureTokenFromUrl();
    render(<App />);

    expect(localStorage.getItem(TOKEN_KEY)).toBe("s3cret");
    const { pathname, search, hash } = window.location;
    expect(pathname + search + hash).toBe("/projects?tab=2#top");
    expect(await screen.findByText("Signed in as Ada")).toBeDefined();
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe("/graphql");
    expect(init?.method).toBe("POST");
    expect(authorizationOf(fetch)).toBe("Bearer s3cret");
  });

  it("asks for a token when none is stored", async () => {
    const fetch = answerProjects([]);
    render(<App />);

    expect(fetch).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText("Token"), {
      target: { value: "http://127.0.0.1:8000/?token=pasted" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByText("Signed in as Ada")).toBeDefined();
    expect(localStorage.getItem(TOKEN_KEY)).toBe("pasted");
    expect(authorizationOf(fetch)).toBe("Bearer pasted");
  });

  it.each([
    [
      "a GraphQL error",
      '{"errors":[{"message":"Bad token"}]}',
      "application/json",
    ],
    ["plain text", "Unauthorized", "text/plain"],
  ])("forgets a token refused with 401 and %s", async (_, body, type) => {
    localStorage.setItem(TOKEN_KEY, "stale");
    answerWith(401, body, type);
    render(<App />);

    expect(
      await screen.findByText("That token was not accepted."),
    ).toBeDefined();
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(screen.getByLabelText("Token")).toBeDefined();
  });

  it("signs out and forgets the token", async () => {
    localStorage.setItem(TOKEN_KEY, "good");
    answerProjects([]);
    render(<App />);

    fireEvent.click(await screen.findByRole("button", { name: "Sign out" }));

    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(screen.getByLabelText("Token")).toBeDefined();
    expect(screen.queryByText("That token was not accepted.")).toBeNull();
  });
});

describe("projects", () => {
  it("says so when there are no projects", async () => {
    localStorage.setItem(TOKEN_KEY, "good");
    answerProjects([]);
    render(<App />);

    expect(await screen.findByText("No projects yet.")).toBeDefined();
  });

  it("lists each project's key, name and description", async () => {
    localStorage.setItem(TOKEN_KEY, "good");
    answerProjects([
      {
        id: "7a1c",
        key: "PAP",
        name: "Paperwork",
        description: "Forms and their reviewers.",
        defaultWorkspaceMode: "ISOLATED",
      },
    ]);
    render(<App />);

    expect(await screen.findByText("Paperwork")).toBeDefined();
    expect(screen.getByText("PAP")).toBeDefined();
    expect(screen.getByText("Forms and their reviewers.")).toBeDefined();
    expect(screen.queryByText("No projects yet.")).toBeNull();
  });
});
