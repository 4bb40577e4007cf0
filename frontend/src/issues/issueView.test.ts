import { describe, expect, it } from "vitest";

import {
  DEFAULT_VIEW,
  WORKSPACE_ISSUES_VIEW_PREFIX,
  loadView,
  saveView,
  sortIssues,
  viewKey,
  type SortableIssue,
} from "./issueView";

function issue(changes: Partial<SortableIssue>): SortableIssue {
  return {
    identifier: "PAP-1",
    title: "",
    status: "TODO",
    priority: "NONE",
    updatedAt: "2026-12-01T00:00:00+00:00",
    assignee: null,
    ...changes,
  };
}

describe("issue list view state", () => {
  it("keeps each workspace's layout under its own key", () => {
    const first = viewKey(WORKSPACE_ISSUES_VIEW_PREFIX, "w1");
    const second = viewKey(WORKSPACE_ISSUES_VIEW_PREFIX, "w2");
    const layout = {
      columns: ["assignee" as const],
      sort: { column: "priority" as const, direction: "desc" as const },
    };

    saveView(first, layout);

    expect(first).toBe("worksite:execution-workspace-issues-view:w1");
    expect(loadView(first)).toEqual(layout);
    expect(loadView(second)).toEqual(DEFAULT_VIEW);
  });

  it.each([
    ["not JSON", "{"],
    [
      "an unknown sort column",
      '{"columns":[],"sort":{"column":"x","direction":"asc"}}',
    ],
    ["no sort", '{"columns":[]}'],
  ])("falls back to the default for %s", (_, text) => {
    localStorage.setItem("key", text);
    expect(loadView("key")).toEqual(DEFAULT_VIEW);
  });

  it("drops columns it does not know", () => {
    const stored = {
      columns: ["status", "estimate"],
      sort: { column: "title", direction: "asc" },
    };
    localStorage.setItem("key", JSON.stringify(stored));
    expect(loadView("key").columns).toEqual(["status"]);
  });
});

describe("sortIssues", () => {
  const issues = [
    issue({ identifier: "PAP-10", priority: "LOW", status: "DONE" }),
    issue({ identifier: "PAP-2", priority: "URGENT", status: "BACKLOG" }),
    issue({ identifier: "PAP-9", priority: "LOW", status: "IN_PROGRESS" }),
  ];
  const ids = (sorted: SortableIssue[]) => sorted.map((i) => i.identifier);

  it("orders identifiers by number, not as text", () => {
    const sorted = sortIssues(issues, {
      column: "identifier",
      direction: "asc",
    });
    expect(ids(sorted)).toEqual(["PAP-2", "PAP-9", "PAP-10"]);
  });

  it("orders priorities by urgency, ties by identifier", () => {
    const sorted = sortIssues(issues, {
      column: "priority",
      direction: "desc",
    });
    expect(ids(sorted)).toEqual(["PAP-2", "PAP-9", "PAP-10"]);
  });

  it("orders statuses along the workflow", () => {
    const sorted = sortIssues(issues, { column: "status", direction: "asc" });
    expect(ids(sorted)).toEqual(["PAP-2", "PAP-9", "PAP-10"]);
  });
});
