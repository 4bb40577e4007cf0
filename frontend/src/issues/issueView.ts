import type { IssuePriority, IssueStatus } from "../graphql/generated";
import { ISSUE_STATUSES, PRIORITIES } from "./labels";

// The layout of an issue list (which columns show, how rows sort), kept in
// localStorage under a key of its own per list, so each workspace keeps
// the layout its operator chose.

export const WORKSPACE_ISSUES_VIEW_PREFIX =
  "worksite:execution-workspace-issues-view";
export const PROJECT_ISSUES_VIEW_PREFIX = "worksite:project-issues-view";

export type OptionalColumn = "status" | "priority" | "assignee" | "updated";
export type SortColumn = "identifier" | "title" | OptionalColumn;
export type SortDirection = "asc" | "desc";

export interface IssueView {
  columns: OptionalColumn[];
  sort: { column: SortColumn; direction: SortDirection };
}

export const OPTIONAL_COLUMNS: { id: OptionalColumn; label: string }[] = [
  { id: "status", label: "Status" },
  { id: "priority", label: "Priority" },
  { id: "assignee", label: "Assignee" },
  { id: "updated", label: "Updated" },
];

export const DEFAULT_VIEW: IssueView = {
  columns: ["status", "priority", "assignee"],
  sort: { column: "identifier", direction: "asc" },
};

const SORT_COLUMNS: SortColumn[] = [
  "identifier",
  "title",
  ...OPTIONAL_COLUMNS.map((column) => column.id),
];

export function viewKey(prefix: string, id: string): string {
  return `${prefix}:${id}`;
}

/** The stored view, or the default when there is none or it is unreadable. */
export function loadView(key: string): IssueView {
  const text = localStorage.getItem(key);
  if (text === null) return DEFAULT_VIEW;
  try {
    return viewFrom(JSON.parse(text)) ?? DEFAULT_VIEW;
  } catch {
    return DEFAULT_VIEW;
  }
}

export function saveView(key: string, view: IssueView): void {
  localStorage.setItem(key, JSON.stringify(view));
}

function viewFrom(value: unknown): IssueView | null {
  if (typeof value !== "object" || value === null) return null;
  const { columns, sort } = value as { columns?: unknown; sort?: unknown };
  if (!Array.isArray(columns) || typeof sort !== "object" || sort === null) {
    return null;
  }
  const known = OPTIONAL_COLUMNS.map((column) => column.id);
  const { column, direction } = sort as {
    column?: unknown;
    direction?: unknown;
  };
  if (!SORT_COLUMNS.includes(column as SortColumn)) return null;
  if (direction !== "asc" && direction !== "desc") return null;
  return {
    columns: known.filter((id) => columns.includes(id)),
    sort: { column: column as SortColumn, direction },
  };
}

export interface SortableIssue {
  identifier: string;
  title: string;
  status: IssueStatus;
  priority: IssuePriority;
  updatedAt: string;
  assignee: { name: string } | null;
}

/** A copy of `issues` in the view's order. */
export function sortIssues<T extends SortableIssue>(
  issues: readonly T[],
  sort: IssueView["sort"],
): T[] {
  const sign = sort.direction === "asc" ? 1 : -1;
  return [...issues].sort(
    (a, b) =>
      sign * compareBy(sort.column, a, b) || compareBy("identifier", a, b),
  );
}

function compareBy(column: SortColumn, a: SortableIssue, b: SortableIssue) {
  switch (column) {
    case "identifier":
      return issueNumber(a.identifier) - issueNumber(b.identifier);
    case "title":
      return a.title.localeCompare(b.title);
    case "status":
      return (
        ISSUE_STATUSES.indexOf(a.status) - ISSUE_STATUSES.indexOf(b.status)
      );
    case "priority":
      return PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority);
    case "assignee":
      return (a.assignee?.name ?? "").localeCompare(b.assignee?.name ?? "");
    case "updated":
      return a.updatedAt.localeCompare(b.updatedAt);
  }
}

function issueNumber(identifier: string): number {
  const number = Number(identifier.split("-").pop());
  return Number.isFinite(number) ? number : 0;
}
