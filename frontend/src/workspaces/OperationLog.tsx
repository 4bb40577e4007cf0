import { useEffect, useState } from "react";
import { useClient } from "urql";
import { onEnd, pipe, subscribe } from "wonka";

import { OperationLogStreamDocument } from "../graphql/generated";
import { Alert } from "../ui/Alert";

interface LogState {
  content: string;
  complete: boolean;
  error: string | null;
}

/**
 * The full log of one operation: what is on disk, then live while the
 * operation runs. The stream ends once the operation has finished and its
 * log is delivered.
 */
export function OperationLog({ operationId }: { operationId: string }) {
  const state = useOperationLog(operationId);
  return (
    <div className="stack">
      {state.error !== null && <Alert>{state.error}</Alert>}
      <pre className="log" aria-label="Full log" tabIndex={0}>
        {state.content}
      </pre>
      <p className="muted small" role="status">
        {state.complete ? "End of log." : "Following the log…"}
      </p>
    </div>
  );
}

function useOperationLog(operationId: string): LogState {
  const client = useClient();
  const [state, setState] = useState<LogState>({
    content: "",
    complete: false,
    error: null,
  });

  useEffect(() => {
    let stopped = false;
    // Bytes received so far: a re-sent chunk (after a reconnect) is skipped.
    let received = 0;
    setState({ content: "", complete: false, error: null });

    const stream = client.subscription(OperationLogStreamDocument, {
      operationId,
      offset: 0,
    });
    const { unsubscribe } = pipe(
      stream,
      onEnd(() => {
        if (!stopped) setState((current) => ({ ...current, complete: true }));
      }),
      subscribe((result) => {
        const event = result.data?.operationLog;
        if (result.error !== undefined || event === undefined) {
          const error = result.error?.message ?? "The log stream failed.";
          setState((current) => ({ ...current, error }));
        } else if (event.__typename !== "OutputChunk") {
          setState((current) => ({ ...current, error: event.message }));
        } else if (event.nextOffset > received) {
          const fresh = event.content.slice(
            Math.max(0, received - event.offset),
          );
          received = event.nextOffset;
          setState((current) => ({
            ...current,
            content: current.content + fresh,
          }));
        }
      }),
    );
    return () => {
      stopped = true;
      unsubscribe();
    };
  }, [client, operationId]);

  return state;
}
