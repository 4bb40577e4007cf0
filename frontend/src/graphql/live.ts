import { useEffect, useRef } from "react";
import { useClient, type TypedDocumentNode } from "urql";

/**
 * Keeps a screen live: while mounted, follows `subscription` and calls
 * `refresh` after each event it delivers. Events that arrive together
 * cause one refresh. Stops following on unmount or when `variables` change;
 * does not start while `enabled` is false (its variables are not known yet).
 */
export function useRefreshOn<Variables extends Record<string, unknown>>(
  subscription: TypedDocumentNode<unknown, Variables>,
  variables: Variables,
  refresh: () => void,
  enabled = true,
): void {
  const client = useClient();
  const latest = useRef(refresh);
  latest.current = refresh;
  const key = JSON.stringify(variables);

  useEffect(() => {
    if (!enabled) return;
    let scheduled = false;
    const parsed = JSON.parse(key) as Variables;
    const source = client.subscription(subscription, parsed);
    const { unsubscribe } = source.subscribe((result) => {
      // A failed subscription is not news about the screen's data.
      if (result.data === undefined || scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        latest.current();
      });
    });
    return unsubscribe;
  }, [client, subscription, key, enabled]);
}
