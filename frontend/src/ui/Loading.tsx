import type { CombinedError } from "urql";

import { Alert } from "./Alert";

interface LoadStateProps {
  what: string;
  fetching: boolean;
  error: CombinedError | undefined;
}

/** What a screen shows before its data arrives: a note, or why it failed. */
export function LoadState({ what, fetching, error }: LoadStateProps) {
  if (error !== undefined) {
    return (
      <Alert>
        Could not load {what}: {error.message}
      </Alert>
    );
  }
  if (fetching) return <p className="muted">Loading {what}…</p>;
  return null;
}
