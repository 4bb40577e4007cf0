import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useClient, useQuery } from "urql";
import { pipe, subscribe } from "wonka";

import {
  WorkspaceOperationsChangedDocument,
  WorkspaceOperationsDocument,
  type OperationSummaryFragment,
} from "../graphql/generated";

/** How many operations the tab shows at first, and adds per "Load older". */
export const PAGE = 50;

type Operation = OperationSummaryFragment;

/** Newest first, as the server lists them: by start, then by id. */
export function newestFirst(a: Operation, b: Operation): number {
  const started = Date.parse(b.startedAt) - Date.parse(a.startedAt);
  if (started !== 0) return started;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** `known` with `rows` added or replaced by id. */
export function merged(
  known: ReadonlyMap<string, Operation>,
  rows: readonly Operation[],
): Map<string, Operation> {
  const next = new Map(known);
  for (const row of rows) next.set(row.id, row);
  return next;
}

export interface OperationPages {
  operations: Operation[] | undefined;
  error: string | null;
  fetching: boolean;
  /** Whether older operations than those shown exist. */
  more: boolean;
  loadingOlder: boolean;
  olderError: string | null;
  loadOlder: () => void;
}

/**
 * A workspace's operations, newest first: the newest PAGE, then older pages
 * on request (the `before` cursor). Operations that start or finish arrive
 * from the workspaceOperations subscription and replace what is shown, on
 * every page; each event also asks the newest page again, which catches up
 * after a reconnect.
 */
export function useOperationPages(workspaceId: string): OperationPages {
  const client = useClient();
  const [{ data, error, fetching }, reexecute] = useQuery({
    query: WorkspaceOperationsDocument,
    variables: { id: workspaceId, limit: PAGE + 1 },
  });
  const [known, setKnown] = useState<Map<string, Operation>>(new Map());
  const [older, setOlder] = useState<{ loaded: boolean; more: boolean }>({
    loaded: false,
    more: false,
  });
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<string | null>(null);
  const loading = useRef(false);

  useEffect(() => {
    setKnown(new Map());
    setOlder({ loaded: false, more: false });
    setOlderError(null);
  }, [workspaceId]);

  const newest = data?.executionWorkspace?.operations;
  useEffect(() => {
    if (newest !== undefined) {
      setKnown((current) => merged(current, newest.slice(0, PAGE)));
    }
  }, [newest]);

  useEffect(() => {
    let scheduled = false;
    const changes = client.subscription(WorkspaceOperationsChangedDocument, {
      workspaceId,
    });
    const { unsubscribe } = pipe(
      changes,
      subscribe((result) => {
        const event = result.data?.workspaceOperations;
        if (event?.__typename !== "WorkspaceOperation") return;
        setKnown((current) => merged(current, [event]));
        if (scheduled) return;
        scheduled = true;
        queueMicrotask(() => {
          scheduled = false;
          reexecute({ requestPolicy: "network-only" });
        });
      }),
    );
    return unsubscribe;
  }, [client, workspaceId, reexecute]);

  const operations = useMemo(
    () =>
      newest === undefined ? undefined : [...known.values()].sort(newestFirst),
    [known, newest],
  );

  const loadOlder = useCallback(() => {
    const oldest = operations?.[operations.length - 1];
    if (oldest === undefined || loading.current) return;
    loading.current = true;
    setLoadingOlder(true);
    setOlderError(null);
    const variables = { id: workspaceId, limit: PAGE + 1, before: oldest.id };
    void client
      .query(WorkspaceOperationsDocument, variables, {
        requestPolicy: "network-only",
      })
      .toPromise()
      .then((result) => {
        const page = result.data?.executionWorkspace?.operations;
        if (page === undefined) {
          setOlderError(result.error?.message ?? "The server did not answer.");
        } else {
          setKnown((current) => merged(current, page.slice(0, PAGE)));
          setOlder({ loaded: true, more: page.length > PAGE });
        }
      })
      .finally(() => {
        loading.current = false;
        setLoadingOlder(false);
      });
  }, [client, workspaceId, operations]);

  return {
    operations,
    error: error?.message ?? null,
    fetching,
    more: older.loaded ? older.more : (newest?.length ?? 0) > PAGE,
    loadingOlder,
    olderError,
    loadOlder,
  };
}
