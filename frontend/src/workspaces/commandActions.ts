import { useCallback, useRef, useState } from "react";

// What the Workspace commands panel is doing: at most one action per
// command at a time (a second click on a pending one is ignored, not sent),
// and the outcome of the last one: a short confirmation or the error.

export type CommandAction = "start" | "stop" | "restart" | "run";

export type ActionOutcome = { ok: true } | { ok: false; error: string };

export interface PendingAction {
  command: string;
  action: CommandAction;
}

export interface LastOutcome extends PendingAction {
  message: string;
  ok: boolean;
}

/** The command name under which an action on every service is pending. */
export const ALL_SERVICES = "all services";

export const CONFIRMATIONS: Record<CommandAction, string> = {
  start: "Workspace service started.",
  stop: "Workspace service stopped.",
  restart: "Workspace service restarted.",
  run: "Workspace job completed.",
};

const ALL_CONFIRMATIONS: Partial<Record<CommandAction, string>> = {
  start: "Workspace services started.",
  stop: "Workspace services stopped.",
};

export const PENDING_LABELS: Record<CommandAction, string> = {
  start: "Starting",
  stop: "Stopping",
  restart: "Restarting",
  run: "Running",
};

export function useCommandActions() {
  const [pending, setPending] = useState<PendingAction[]>([]);
  const [last, setLast] = useState<LastOutcome | null>(null);
  // The same list as `pending`, current even between renders, so that two
  // clicks in one frame cannot both start.
  const busy = useRef(new Set<string>());

  const perform = useCallback(
    async (
      command: string,
      action: CommandAction,
      send: () => Promise<ActionOutcome>,
      // Commands whose pending action also rules this one out.
      blockers: readonly string[] = [],
    ) => {
      const taken = [command, ...blockers].some((c) => busy.current.has(c));
      if (taken) return;
      busy.current.add(command);
      const entry = { command, action };
      setPending((current) => [...current, entry]);
      let outcome: ActionOutcome;
      try {
        outcome = await send();
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        outcome = { ok: false, error: reason };
      }
      busy.current.delete(command);
      setPending((current) => current.filter((p) => p.command !== command));
      setLast({
        ...entry,
        ok: outcome.ok,
        message: outcome.ok ? confirmation(command, action) : outcome.error,
      });
    },
    [],
  );

  const pendingFor = useCallback(
    (command: string) => pending.find((p) => p.command === command),
    [pending],
  );

  return { pending, pendingFor, last, perform };
}

function confirmation(command: string, action: CommandAction): string {
  const all = command === ALL_SERVICES ? ALL_CONFIRMATIONS[action] : undefined;
  return all ?? CONFIRMATIONS[action];
}
