import { useState } from "react";
import { useMutation, useQuery } from "urql";

import {
  IssuePageDocument,
  UpdateIssueRowDocument,
  type IssueInput,
  type IssuePageQuery,
  type IssueStatus,
} from "../graphql/generated";
import { Link, useTitle } from "../routing/router";
import { paths } from "../routing/routes";
import { Alert } from "../ui/Alert";
import { Breadcrumbs } from "../ui/Breadcrumbs";
import { dateTime } from "../ui/format";
import { LoadState } from "../ui/Loading";
import { Pill } from "../ui/Pill";
import {
  MODE_LABELS,
  STATUS_LABELS as WORKSPACE_STATUS,
} from "../workspaces/labels";
import {
  ISSUE_STATUSES,
  PRIORITY_LABELS,
  RUN_LABELS,
  RUN_TONES,
  STATUS_LABELS,
} from "./labels";
import { useLiveIssues } from "./liveIssues";

type IssueDetail = NonNullable<IssuePageQuery["issue"]>;

export function IssuePage({ identifier }: { identifier: string }) {
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: IssuePageDocument,
    variables: { identifier },
  });
  const issue = data?.issue;
  const projectId = issue?.project.id ?? "";
  useLiveIssues(
    projectId,
    () => reexecute({ requestPolicy: "network-only" }),
    projectId !== "",
  );
  useTitle(issue ? `${issue.identifier} ${issue.title}` : identifier);

  if (issue === undefined || data === undefined) {
    return <LoadState what="the issue" fetching={fetching} error={error} />;
  }
  if (issue === null) return <p className="empty">No such issue.</p>;

  return (
    <>
      <Breadcrumbs
        crumbs={[
          { label: "Projects", to: paths.projects() },
          { label: issue.project.name, to: paths.project(issue.project.id) },
          { label: "Issues", to: paths.project(issue.project.id, "issues") },
          { label: issue.identifier },
        ]}
      />
      <div className="page-heading">
        <span className="project-key">{issue.identifier}</span>
        <h2>{issue.title}</h2>
        {issue.liveRun !== null && <Pill tone="busy">Live run</Pill>}
      </div>
      <div className="issue-layout">
        <section className="card stack" aria-labelledby="description-heading">
          <h3 id="description-heading">Description</h3>
          {issue.description === "" ? (
            <p className="muted">No description.</p>
          ) : (
            <p className="prewrap">{issue.description}</p>
          )}
          <Relatives issue={issue} />
        </section>
        <IssueFacts issue={issue} agents={data.agents} />
      </div>
      <Runs runs={issue.runs} />
    </>
  );
}

interface IssueFactsProps {
  issue: IssueDetail;
  agents: IssuePageQuery["agents"];
}

function IssueFacts({ issue, agents }: IssueFactsProps) {
  const [{ fetching }, updateIssue] = useMutation(UpdateIssueRowDocument);
  const [error, setError] = useState<string | null>(null);

  async function update(input: IssueInput) {
    setError(null);
    const result = await updateIssue({ id: issue.id, input });
    const answer = result.data?.updateIssue;
    if (answer !== undefined && answer.__typename !== "Issue") {
      setError(answer.message);
    } else if (result.error !== undefined) {
      setError(result.error.message);
    }
  }

  const mode = issue.workspaceMode ?? issue.project.defaultWorkspaceMode;
  const inherits = issue.inheritExecutionWorkspaceFrom;
  return (
    <section className="card stack" aria-labelledby="facts-heading">
      <h3 id="facts-heading">Details</h3>
      {error !== null && <Alert>{error}</Alert>}
      <dl className="facts">
        <dt>
          <label htmlFor="issue-status">Status</label>
        </dt>
        <dd>
          <select
            id="issue-status"
            value={issue.status}
            disabled={fetching}
            onChange={(event) =>
              void update({ status: event.target.value as IssueStatus })
            }
          >
            {ISSUE_STATUSES.map((status) => (
              <option key={status} value={status}>
                {STATUS_LABELS[status]}
              </option>
            ))}
          </select>
        </dd>
        <dt>Priority</dt>
        <dd>{PRIORITY_LABELS[issue.priority]}</dd>
        <dt>
          <label htmlFor="issue-assignee">Assignee</label>
        </dt>
        <dd>
          <select
            id="issue-assignee"
            value={issue.assignee?.id ?? ""}
            disabled={fetching}
            onChange={(event) =>
              void update({ assigneeId: event.target.value || null })
            }
          >
            <option value="">Unassigned</option>
            {agents.map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name}
              </option>
            ))}
          </select>
        </dd>
        <dt>Workspace mode</dt>
        <dd>
          {MODE_LABELS[mode]}
          {issue.workspaceMode === null && " (the project's default)"}
          {inherits !== null && (
            <div className="small">
              Inherits the workspace of{" "}
              <Link to={paths.issue(inherits.identifier)}>
                {inherits.identifier}
              </Link>
            </div>
          )}
        </dd>
        <dt>Runs in</dt>
        <dd>
          {issue.executionWorkspace === null ? (
            "No workspace yet"
          ) : (
            <>
              <Link to={paths.workspace(issue.executionWorkspace.id)}>
                {issue.executionWorkspace.name}
              </Link>{" "}
              <span className="muted small">
                ({WORKSPACE_STATUS[issue.executionWorkspace.status]})
              </span>
            </>
          )}
        </dd>
      </dl>
    </section>
  );
}

function Relatives({ issue }: { issue: IssueDetail }) {
  return (
    <dl className="facts">
      <dt>Parent</dt>
      <dd>
        {issue.parent === null ? (
          "None"
        ) : (
          <Link to={paths.issue(issue.parent.identifier)}>
            {issue.parent.identifier} {issue.parent.title}
          </Link>
        )}
      </dd>
      <dt>Children</dt>
      <dd>
        {issue.children.length === 0 ? (
          "None"
        ) : (
          <ul className="plain-list">
            {issue.children.map((child) => (
              <li key={child.id}>
                <Link to={paths.issue(child.identifier)}>
                  {child.identifier} {child.title}
                </Link>{" "}
                <span className="muted small">
                  ({STATUS_LABELS[child.status]})
                </span>
              </li>
            ))}
          </ul>
        )}
      </dd>
    </dl>
  );
}

function Runs({ runs }: { runs: IssueDetail["runs"] }) {
  return (
    <section className="card stack" aria-labelledby="runs-heading">
      <h3 id="runs-heading">Runs</h3>
      {runs.length === 0 ? (
        <p className="muted">No agent has worked on this issue yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Workspace</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id}>
                  <td>{run.agent.name}</td>
                  <td>
                    {run.workspace === null ? (
                      "—"
                    ) : (
                      <Link to={paths.workspace(run.workspace.id)}>
                        {run.workspace.name}
                      </Link>
                    )}
                  </td>
                  <td>{dateTime(run.startedAt)}</td>
                  <td>{dateTime(run.finishedAt)}</td>
                  <td>
                    <Pill tone={RUN_TONES[run.status]}>
                      {RUN_LABELS[run.status]}
                    </Pill>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
