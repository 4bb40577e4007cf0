import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery } from "urql";

import {
  CloseReadinessDocument,
  CloseWorkspaceDocument,
  type CloseReadinessState,
  type WorkspaceDetailFragment,
} from "../graphql/generated";
import { Alert } from "../ui/Alert";
import { Pill, type PillTone } from "../ui/Pill";

const STATE_LABELS: Record<CloseReadinessState, string> = {
  READY: "Ready to close",
  READY_WITH_WARNINGS: "Ready to close, with warnings",
  BLOCKED: "Blocked",
};

const STATE_TONES: Record<CloseReadinessState, PillTone> = {
  READY: "good",
  READY_WITH_WARNINGS: "busy",
  BLOCKED: "bad",
};

interface Outcome {
  ok: boolean;
  message: string;
  reasons: string[];
}

/**
 * Close workspace (Retry close after a failed one): first shows what
 * closing would do and what stands in the way, and asks for force only
 * when something does.
 */
export function CloseWorkspace({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  const [open, setOpen] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const retry = workspace.status === "CLEANUP_FAILED";

  if (workspace.status === "ARCHIVED") {
    return outcome?.ok ? (
      <p role="status" className="confirmation">
        {outcome.message}
      </p>
    ) : null;
  }
  const label = retry ? "Retry close" : "Close workspace";

  return (
    <div className="close-workspace">
      <button
        type="button"
        className="danger"
        aria-expanded={open}
        disabled={workspace.status === "CLOSING"}
        onClick={() => {
          setOutcome(null);
          setOpen(!open);
        }}
      >
        {workspace.status === "CLOSING" ? "Closing…" : label}
      </button>
      {open && (
        <CloseDialog
          workspace={workspace}
          title={label}
          onDone={(result) => {
            setOutcome(result);
            if (result.ok) setOpen(false);
          }}
          onCancel={() => setOpen(false)}
        />
      )}
      {!open && outcome !== null && !outcome.ok && (
        <Alert>{outcome.message}</Alert>
      )}
    </div>
  );
}

interface CloseDialogProps {
  workspace: WorkspaceDetailFragment;
  title: string;
  onDone: (outcome: Outcome) => void;
  onCancel: () => void;
}

function CloseDialog(props: CloseDialogProps) {
  const { workspace, title, onDone, onCancel } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  const [{ data, fetching, error }] = useQuery({
    query: CloseReadinessDocument,
    variables: { id: workspace.id },
    requestPolicy: "network-only",
  });
  const [{ fetching: closing }, close] = useMutation(CloseWorkspaceDocument);
  const [problem, setProblem] = useState<Outcome | null>(null);
  const readiness = data?.executionWorkspace?.closeReadiness;
  const blocked = readiness?.state === "BLOCKED";

  useEffect(() => heading.current?.focus(), []);

  async function confirm() {
    setProblem(null);
    const result = await close({ id: workspace.id, force: blocked });
    const answer = result.data?.closeExecutionWorkspace;
    let outcome: Outcome;
    if (answer === undefined) {
      outcome = {
        ok: false,
        message: result.error?.message ?? "",
        reasons: [],
      };
    } else if (answer.__typename !== "ExecutionWorkspace") {
      const reasons =
        answer.__typename === "ConflictError" ? answer.reasons : [];
      outcome = { ok: false, message: answer.message, reasons };
    } else if (answer.status === "CLEANUP_FAILED") {
      const reason = answer.cleanupReason ?? "a close step failed";
      outcome = { ok: false, message: `Close failed: ${reason}.`, reasons: [] };
    } else {
      outcome = { ok: true, message: "Workspace closed.", reasons: [] };
    }
    if (!outcome.ok) setProblem(outcome);
    onDone(outcome);
  }

  return (
    <div
      role="dialog"
      aria-labelledby="close-heading"
      className="close-dialog card stack"
    >
      <h4 id="close-heading" ref={heading} tabIndex={-1}>
        {title}: close readiness
      </h4>
      {readiness === undefined ? (
        error !== undefined ? (
          <Alert>Could not check close readiness: {error.message}</Alert>
        ) : (
          fetching && <p className="muted">Checking the workspace…</p>
        )
      ) : (
        <>
          <p>
            <Pill tone={STATE_TONES[readiness.state]}>
              {STATE_LABELS[readiness.state]}
            </Pill>
          </p>
          <p className="small">
            Closing will: save the work, then{" "}
            {readiness.steps.length === 0
              ? "archive the record"
              : readiness.steps.join(", ")}
            .
          </p>
          {readiness.reasons.length > 0 && (
            <ul className="error-text small" aria-label="What blocks closing">
              {readiness.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
          {readiness.warnings.length > 0 && (
            <ul className="small" aria-label="Warnings">
              {readiness.warnings.map((warning) => (
                <li key={warning}>{warning}</li>
              ))}
            </ul>
          )}
          {blocked && (
            <p className="small">
              Force close saves the uncommitted changes and the branch's commits
              under a ref in the repository, then closes anyway.
            </p>
          )}
        </>
      )}
      {problem !== null && (
        <Alert>
          {problem.message}
          {problem.reasons.length > 0 && ` ${problem.reasons.join(" ")}`}
        </Alert>
      )}
      <div className="button-row">
        <button
          type="button"
          className="danger"
          disabled={readiness === undefined || closing}
          onClick={() => void confirm()}
        >
          {closing ? "Closing…" : blocked ? "Force close" : title}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={closing}
          onClick={onCancel}
        >
          Cancel
        </button>
      </div>
    </div>
  );
}
