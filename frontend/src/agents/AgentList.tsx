import { useState } from "react";
import { useQuery } from "urql";

import { AgentListDocument, type AgentRowFragment } from "../graphql/generated";
import { LoadState } from "../ui/Loading";
import { AgentRow } from "./AgentRow";

// Asked again after any mutation that returns an agent, even while the list
// is empty and so holds no Agent for the cache to recognise.
const LIST_CONTEXT = { additionalTypenames: ["Agent"] };

/** Every agent with its status; revoked ones on request. */
export function AgentList({
  onRevoked,
}: {
  onRevoked: (agent: AgentRowFragment) => void;
}) {
  const [showRevoked, setShowRevoked] = useState(false);
  // Agents revoked on this visit keep their row, now Revoked, until the
  // list is filtered again.
  const [revokedHere, setRevokedHere] = useState<AgentRowFragment[]>([]);
  const [{ data, fetching, error }] = useQuery({
    query: AgentListDocument,
    variables: { includeRevoked: showRevoked },
    context: LIST_CONTEXT,
  });
  const agents =
    data === undefined ? undefined : withRevoked(data.agents, revokedHere);

  function revoked(agent: AgentRowFragment) {
    setRevokedHere((current) => [...current, agent]);
    onRevoked(agent);
  }

  return (
    <section className="stack" aria-label="Agents">
      <label className="checkbox">
        <input
          type="checkbox"
          checked={showRevoked}
          onChange={(event) => {
            setShowRevoked(event.target.checked);
            setRevokedHere([]);
          }}
        />
        Show revoked agents
      </label>
      {agents === undefined ? (
        <LoadState what="the agents" fetching={fetching} error={error} />
      ) : agents.length === 0 ? (
        <p className="empty">
          {showRevoked ? "No agents yet." : "No active agents."}
        </p>
      ) : (
        <div className="table-scroll">
          <table className="table agent-table">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col" className="wide-only">
                  Created
                </th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {agents.map((agent) => (
                <AgentRow key={agent.id} agent={agent} onRevoked={revoked} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The listed agents, with those revoked here put back or brought up to date. */
function withRevoked(
  listed: readonly AgentRowFragment[],
  revoked: readonly AgentRowFragment[],
): AgentRowFragment[] {
  const byId = new Map(listed.map((agent) => [agent.id, agent]));
  for (const agent of revoked) byId.set(agent.id, agent);
  // The server's order: by name.
  return [...byId.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}
