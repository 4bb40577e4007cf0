import { useRef, useState, type KeyboardEvent } from "react";
import { useMutation } from "urql";

import {
  RevokeAgentDocument,
  type AgentRowFragment,
} from "../graphql/generated";
import { Alert } from "../ui/Alert";
import { dateTime } from "../ui/format";
import { Pill } from "../ui/Pill";

/** How many columns the agents table has, for a row that spans them all. */
export const AGENT_COLUMNS = 4;

interface AgentRowProps {
  agent: AgentRowFragment;
  onRevoked: (agent: AgentRowFragment) => void;
}

/**
 * One agent in the table, and Revoke for an active one. A token stops
 * working at once, so Revoke only opens a confirmation under the row (full
 * width, whatever the screen): Confirm revoke sends it, once.
 */
export function AgentRow({ agent, onRevoked }: AgentRowProps) {
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [{ fetching: revoking }, revoke] = useMutation(RevokeAgentDocument);
  // Set before the first await, so a click in the same frame finds it.
  const sent = useRef(false);
  const opener = useRef<HTMLButtonElement>(null);
  const active = agent.revokedAt === null;
  const detailsId = `revoke-agent-${agent.id}`;

  function cancel() {
    setConfirming(false);
    opener.current?.focus();
  }

  function cancelOnEscape(event: KeyboardEvent) {
    if (event.key === "Escape" && confirming && !revoking) cancel();
  }

  async function confirm() {
    if (sent.current) return;
    sent.current = true;
    setProblem(null);
    const result = await revoke({ agentId: agent.id });
    sent.current = false;
    const answer = result.data?.revokeAgent;
    if (answer?.__typename === "Agent") {
      onRevoked(answer);
    } else {
      setProblem(answer?.message ?? result.error?.message ?? "No answer.");
    }
  }

  return (
    <>
      <tr onKeyDown={cancelOnEscape}>
        <td className="agent-name">
          {agent.name}
          <div className="narrow-only muted small">
            Created {dateTime(agent.createdAt)}
          </div>
        </td>
        <td className="wide-only">{dateTime(agent.createdAt)}</td>
        <td>
          {active ? (
            <Pill tone="good">Active</Pill>
          ) : (
            <>
              <Pill>Revoked</Pill>
              <div className="muted small">{dateTime(agent.revokedAt)}</div>
            </>
          )}
        </td>
        <td>
          {active && (
            <button
              ref={opener}
              type="button"
              className="danger small-button"
              aria-label={`Revoke ${agent.name}`}
              aria-expanded={confirming}
              aria-controls={confirming ? detailsId : undefined}
              disabled={revoking}
              onClick={() => {
                setProblem(null);
                setConfirming(!confirming);
              }}
            >
              Revoke
            </button>
          )}
        </td>
      </tr>
      {active && (confirming || problem !== null) && (
        <tr className="row-details" onKeyDown={cancelOnEscape}>
          <td id={detailsId} colSpan={AGENT_COLUMNS}>
            <div className="stack">
              {confirming && (
                <div
                  role="group"
                  aria-label={`Confirm revoking ${agent.name}`}
                  className="button-row"
                >
                  <span className="small">
                    Revoke {agent.name}? Its token stops working at once and its
                    live connections close.
                  </span>
                  <button
                    type="button"
                    className="danger small-button"
                    disabled={revoking}
                    onClick={() => void confirm()}
                  >
                    {revoking ? "Revoking…" : "Confirm revoke"}
                  </button>
                  <button
                    type="button"
                    className="secondary small-button"
                    disabled={revoking}
                    onClick={cancel}
                  >
                    Cancel
                  </button>
                </div>
              )}
              {problem !== null && <Alert>{problem}</Alert>}
            </div>
          </td>
        </tr>
      )}
    </>
  );
}
