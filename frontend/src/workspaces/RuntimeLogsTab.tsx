import { useState } from "react";

import { type OperationSummaryFragment } from "../graphql/generated";
import { Alert } from "../ui/Alert";
import { time } from "../ui/format";
import { Pill } from "../ui/Pill";
import { OPERATION_LABELS, OPERATION_TONES } from "./labels";
import { OperationLog } from "./OperationLog";
import { useOperationPages } from "./operationPages";

/**
 * Operations of a workspace, newest first, a page at a time ("Load older");
 * each opens its log.
 */
export function RuntimeLogsTab({ workspaceId }: { workspaceId: string }) {
  const pages = useOperationPages(workspaceId);
  const { operations, error, fetching } = pages;
  const [openId, setOpenId] = useState<string | null>(null);

  let content;
  if (error !== null) {
    content = <Alert>{error}</Alert>;
  } else if (operations === undefined) {
    content = fetching ? <p className="muted">Loading operations…</p> : null;
  } else if (operations.length === 0) {
    content = (
      <p className="empty">No workspace operations have been recorded yet.</p>
    );
  } else {
    content = (
      <ol className="operations" aria-label="Operations">
        {operations.map((operation) => (
          <OperationItem
            key={operation.id}
            operation={operation}
            open={operation.id === openId}
            onToggle={() =>
              setOpenId(operation.id === openId ? null : operation.id)
            }
          />
        ))}
      </ol>
    );
  }

  return (
    <section className="stack" aria-labelledby="operations-heading">
      <h3 id="operations-heading">Recent operations</h3>
      {content}
      {pages.olderError !== null && <Alert>{pages.olderError}</Alert>}
      {pages.more && (
        <div>
          <button
            type="button"
            className="secondary"
            disabled={pages.loadingOlder}
            onClick={pages.loadOlder}
          >
            {pages.loadingOlder ? "Loading older…" : "Load older"}
          </button>
        </div>
      )}
    </section>
  );
}

interface OperationItemProps {
  operation: OperationSummaryFragment;
  open: boolean;
  onToggle: () => void;
}

function OperationItem({ operation, open, onToggle }: OperationItemProps) {
  const title = operation.command !== "" ? operation.command : operation.phase;
  const failed = operation.status === "FAILED";
  const excerpt =
    failed && operation.stderrExcerpt !== ""
      ? operation.stderrExcerpt
      : operation.stdoutExcerpt || operation.stderrExcerpt;
  const logId = `operation-log-${operation.id}`;

  return (
    <li className="operation card">
      <div className="operation-head">
        <button
          type="button"
          className="link-button operation-title"
          aria-expanded={open}
          aria-controls={logId}
          onClick={onToggle}
        >
          <code>{title}</code>
        </button>
        <Pill tone={OPERATION_TONES[operation.status]}>
          {OPERATION_LABELS[operation.status]}
        </Pill>
      </div>
      <p className="muted small">
        {operation.phase}
        {operation.serviceName !== null && ` · ${operation.serviceName}`}
        {" · started "}
        {time(operation.startedAt)}
        {operation.finishedAt !== null &&
          ` · ended ${time(operation.finishedAt)}`}
        {operation.exitCode !== null && ` · exit ${operation.exitCode}`}
      </p>
      {excerpt !== "" && (
        <pre
          className={
            failed && excerpt === operation.stderrExcerpt
              ? "excerpt stderr"
              : "excerpt"
          }
        >
          {excerpt}
        </pre>
      )}
      {open && (
        <div id={logId}>
          <OperationLog operationId={operation.id} />
        </div>
      )}
    </li>
  );
}
