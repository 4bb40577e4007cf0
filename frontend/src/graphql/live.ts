import { useEffect, useRef } from "react";
import { useClient, type TypedDocumentNode } from "urql";

/**
 * Keeps a screen live: while mounted, follows `subscription` and calls
 * `refresh` after each event it delivers. Events that arrive together
 * cause one refresh. Stops following on unmount or when `variables` change.
 */
export function useRefreshOn<Variables extends Record<string, unknown>>(
  subscription: TypedDocumentNode<unknown, Variables>,
  variables: Variables,
  refresh: () => void,
): void {
  const client = useClient();
  const latest = useRef(refresh);
  latest.current = refresh;
  const key = JSON.stringify(variables);

  useEffect(() => {
    let scheduled = false;
    const parsed = JSON.parse(key) as Variables;
    const source = client.subscription(subscription, parsed);
    const { unsubscribe } = source.subscribe(() => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        latest.current();
      });
    });
    return unsubscribe;
  }, [client, subscription, key]);
}
