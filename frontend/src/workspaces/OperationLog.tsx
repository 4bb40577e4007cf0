import { useEffect, useState } from "react";
import { useClient } from "urql";

import { OperationLogDocument } from "../graphql/generated";
import { Alert } from "../ui/Alert";

/** How long to wait before asking again for the output of a running one. */
const FOLLOW_INTERVAL_MS = 1000;

interface LogState {
  content: string;
  complete: boolean;
  error: string | null;
}

/**
 * The full log of one operation, read chunk by chunk from its byte offset
 * and followed while the operation runs.
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
    let timer: number | undefined;
    let offset = 0;

    async function read() {
      const result = await client
        .query(
          OperationLogDocument,
          { id: operationId, offset },
          { requestPolicy: "network-only" },
        )
        .toPromise();
      if (stopped) return;
      const chunk = result.data?.operation?.log;
      if (chunk === undefined) {
        const error = result.error?.message ?? "The operation is gone.";
        setState((current) => ({ ...current, complete: true, error }));
        return;
      }
      offset = chunk.nextOffset;
      setState((current) => ({
        content: current.content + chunk.content,
        complete: chunk.complete,
        error: null,
      }));
      if (chunk.complete) return;
      // More is there already: read on at once; else wait for output.
      const delay = chunk.content === "" ? FOLLOW_INTERVAL_MS : 0;
      timer = window.setTimeout(() => void read(), delay);
    }

    setState({ content: "", complete: false, error: null });
    void read();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [client, operationId]);

  return state;
}
