import {
  OperationLogStreamDocument,
  type OperationLogStreamSubscription,
} from "../graphql/generated";
import { Alert } from "../ui/Alert";
import { useFollowedLog, type FollowedLog } from "./logStream";

/**
 * The full log of one operation: what is on disk, then live while the
 * operation runs. The stream ends once the operation has finished and its
 * log is delivered.
 */
export function OperationLog({ operationId }: { operationId: string }) {
  const state = useFollowedLog(
    OperationLogStreamDocument,
    { operationId, offset: 0 },
    operationEvent,
  );
  return <LogView state={state} label="Full log" />;
}

function operationEvent(data: OperationLogStreamSubscription | undefined) {
  return data?.operationLog;
}

/** A followed log, with its error above it and whether more may come below. */
export function LogView(props: {
  state: FollowedLog;
  label: string;
  ended?: string;
}) {
  const { state, label, ended = "End of log." } = props;
  return (
    <div className="stack">
      {state.error !== null && <Alert>{state.error}</Alert>}
      <pre className="log" aria-label={label} tabIndex={0}>
        {state.content}
      </pre>
      <p className="muted small" role="status">
        {state.complete ? ended : "Following the log…"}
      </p>
    </div>
  );
}
