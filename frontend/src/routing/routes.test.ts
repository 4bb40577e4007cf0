import { describe, expect, it } from "vitest";

import { matchRoute, paths } from "./routes";

describe("routes", () => {
  it.each([
    ["/", { screen: "projects" }],
    ["/projects/p1", { screen: "project", projectId: "p1", tab: "workspaces" }],
    [
      "/projects/p1/issues",
      { screen: "project", projectId: "p1", tab: "issues" },
    ],
    ["/workspaces/w1", { screen: "workspace", workspaceId: "w1" }],
    ["/issues/PAP-12", { screen: "issue", identifier: "PAP-12" }],
    ["/agents", { screen: "agents" }],
    ["/agents/a1", { screen: "not-found" }],
    ["/projects/p1/settings", { screen: "not-found" }],
    ["/elsewhere", { screen: "not-found" }],
  ])("reads %s", (path, route) => {
    expect(matchRoute(path)).toEqual(route);
  });

  it("reads back every path it builds", () => {
    expect(matchRoute(paths.project("a b", "issues"))).toEqual({
      screen: "project",
      projectId: "a b",
      tab: "issues",
    });
    expect(matchRoute(paths.issue("PAP-3"))).toEqual({
      screen: "issue",
      identifier: "PAP-3",
    });
  });
});
