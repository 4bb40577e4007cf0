import { useState } from "react";

import { useTitle } from "../routing/router";
import { AgentList } from "./AgentList";
import { NewAgentForm } from "./NewAgentForm";
import { NewAgentToken, type IssuedToken } from "./NewAgentToken";

/**
 * The agents that may call the API: a new one gets a token, shown here
 * once; revoking one stops its token at once.
 */
export function AgentsPage() {
  // Only in this screen's state: leaving the screen forgets the token.
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  useTitle("Agents");

  return (
    <>
      <h2>Agents</h2>
      <p className="muted">
        Each coding agent calls the API with a token of its own. Revoke an agent
        to stop its token; its runs stay in the history.
      </p>
      <NewAgentForm
        onSubmit={() => setIssued(null)}
        onCreated={(agent, token) => setIssued({ agent, token })}
      />
      {issued !== null && (
        <NewAgentToken
          key={issued.agent.id}
          issued={issued}
          onDone={() => setIssued(null)}
        />
      )}
      <AgentList
        onRevoked={(agent) => {
          if (agent.id === issued?.agent.id) setIssued(null);
        }}
      />
    </>
  );
}
