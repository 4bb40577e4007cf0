import { useState } from "react";
import { useMutation } from "urql";

import {
  UpdateIssueRowDocument,
  type IssueInput,
  type IssueRowFragment,
} from "../graphql/generated";
import { Link } from "../routing/router";
import { paths } from "../routing/routes";
import { Alert } from "../ui/Alert";
import { dateTime } from "../ui/format";
import { Pill } from "../ui/Pill";
import {
  OPTIONAL_COLUMNS,
  loadView,
  saveView,
  sortIssues,
  type IssueView,
  type OptionalColumn,
  type SortColumn,
} from "./issueView";
import { ISSUE_STATUSES, PRIORITY_LABELS, STATUS_LABELS } from "./labels";

interface IssueTableProps {
  issues: readonly IssueRowFragment[];
  agents: readonly { id: string; name: string }[];
  /** Where this list keeps its layout in localStorage. */
  viewStorageKey: string;
  emptyText: string;
}

const HEADINGS: Record<SortColumn, string> = {
  identifier: "Issue",
  title: "Title",
  status: "Status",
  priority: "Priority",
  assignee: "Assignee",
  updated: "Updated",
};

/**
 * Issues with their status, priority and assignee; status and assignee
 * change in place. Issues with a run in progress are highlighted.
 */
export function IssueTable(props: IssueTableProps) {
  const { issues, agents, viewStorageKey, emptyText } = props;
  const [view, setView] = useState(() => loadView(viewStorageKey));
  const [{ fetching: saving }, updateIssue] = useMutation(
    UpdateIssueRowDocument,
  );
  const [error, setError] = useState<string | null>(null);

  function changeView(next: IssueView) {
    setView(next);
    saveView(viewStorageKey, next);
  }

  function toggleColumn(column: OptionalColumn, shown: boolean) {
    const columns = shown
      ? [...view.columns, column]
      : view.columns.filter((id) => id !== column);
    changeView({ ...view, columns });
  }

  function sortBy(column: SortColumn) {
    const same = view.sort.column === column;
    const direction = same && view.sort.direction === "asc" ? "desc" : "asc";
    changeView({ ...view, sort: { column, direction } });
  }

  async function update(issue: IssueRowFragment, input: IssueInput) {
    setError(null);
    const result = await updateIssue({ id: issue.id, input });
    const answer = result.data?.updateIssue;
    if (result.error !== undefined) {
      setError(`Could not update ${issue.identifier}: ${result.error.message}`);
    } else if (answer !== undefined && answer.__typename !== "Issue") {
      setError(`Could not update ${issue.identifier}: ${answer.message}`);
    }
  }

  const shown = (column: SortColumn) =>
    column === "identifier" ||
    column === "title" ||
    view.columns.includes(column);
  const columns = (Object.keys(HEADINGS) as SortColumn[]).filter(shown);
  const rows = sortIssues(issues, view.sort);

  return (
    <div className="stack">
      <fieldset className="column-picker">
        <legend>Columns</legend>
        {OPTIONAL_COLUMNS.map((column) => (
          <label key={column.id} className="checkbox">
            <input
              type="checkbox"
              checked={view.columns.includes(column.id)}
              onChange={(event) =>
                toggleColumn(column.id, event.target.checked)
              }
            />
            {column.label}
          </label>
        ))}
      </fieldset>
      {error !== null && <Alert>{error}</Alert>}
      {rows.length === 0 ? (
        <p className="empty">{emptyText}</p>
      ) : (
        <div className="table-scroll">
          <table className="table issue-table">
            <thead>
              <tr>
                {columns.map((column) => (
                  <th
                    key={column}
                    scope="col"
                    aria-sort={ariaSort(view, column)}
                  >
                    <button
                      type="button"
                      className="sort-button"
                      onClick={() => sortBy(column)}
                    >
                      {HEADINGS[column]}
                      <span aria-hidden="true">{sortMark(view, column)}</span>
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((issue) => (
                <tr
                  key={issue.id}
                  className={issue.liveRun !== null ? "row-live" : undefined}
                >
                  {columns.map((column) => (
                    <td key={column}>
                      <Cell
                        column={column}
                        issue={issue}
                        agents={agents}
                        disabled={saving}
                        onChange={(input) => void update(issue, input)}
                      />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

interface CellProps {
  column: SortColumn;
  issue: IssueRowFragment;
  agents: readonly { id: string; name: string }[];
  disabled: boolean;
  onChange: (input: IssueInput) => void;
}

function Cell({ column, issue, agents, disabled, onChange }: CellProps) {
  switch (column) {
    case "identifier":
      return (
        <span className="issue-id">
          <Link to={paths.issue(issue.identifier)}>{issue.identifier}</Link>
          {issue.liveRun !== null && <Pill tone="busy">Live run</Pill>}
        </span>
      );
    case "title":
      return <Link to={paths.issue(issue.identifier)}>{issue.title}</Link>;
    case "status":
      return (
        <select
          aria-label={`Status of ${issue.identifier}`}
          value={issue.status}
          disabled={disabled}
          onChange={(event) =>
            onChange({
              status: event.target.value as IssueRowFragment["status"],
            })
          }
        >
          {ISSUE_STATUSES.map((status) => (
            <option key={status} value={status}>
              {STATUS_LABELS[status]}
            </option>
          ))}
        </select>
      );
    case "priority":
      return <>{PRIORITY_LABELS[issue.priority]}</>;
    case "assignee":
      return (
        <select
          aria-label={`Assignee of ${issue.identifier}`}
          value={issue.assignee?.id ?? ""}
          disabled={disabled}
          onChange={(event) =>
            onChange({ assigneeId: event.target.value || null })
          }
        >
          <option value="">Unassigned</option>
          {agents.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name}
            </option>
          ))}
        </select>
      );
    case "updated":
      return <>{dateTime(issue.updatedAt)}</>;
  }
}

function ariaSort(view: IssueView, column: SortColumn) {
  if (view.sort.column !== column) return undefined;
  return view.sort.direction === "asc" ? "ascending" : "descending";
}

function sortMark(view: IssueView, column: SortColumn) {
  if (view.sort.column !== column) return "";
  return view.sort.direction === "asc" ? " ▲" : " ▼";
}
