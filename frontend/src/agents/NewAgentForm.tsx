import { useState, type SubmitEvent } from "react";
import { useMutation } from "urql";

import {
  CreateAgentDocument,
  type AgentRowFragment,
} from "../graphql/generated";

interface NewAgentFormProps {
  /** A creation starts: whatever token was shown before must go. */
  onSubmit: () => void;
  onCreated: (agent: AgentRowFragment, token: string) => void;
}

/** Names a new agent; the server answers with its token or why not. */
export function NewAgentForm({ onSubmit, onCreated }: NewAgentFormProps) {
  const [name, setName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [{ fetching: creating }, create] = useMutation(CreateAgentDocument);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (creating) return;
    onSubmit();
    setProblem(null);
    const result = await create({ input: { name } });
    const answer = result.data?.createAgent;
    if (answer?.__typename === "CreateAgentSuccess") {
      setName("");
      onCreated(answer.agent, answer.token);
    } else {
      // A refusal keeps what was typed, to be corrected.
      setProblem(answer?.message ?? result.error?.message ?? "No answer.");
    }
  }

  return (
    <form
      className="card stack"
      aria-labelledby="new-agent-heading"
      onSubmit={(event) => void submit(event)}
    >
      <h3 id="new-agent-heading">New agent</h3>
      <div className="new-agent">
        <div className="field">
          <label htmlFor="new-agent-name">Name</label>
          <input
            id="new-agent-name"
            autoComplete="off"
            spellCheck={false}
            value={name}
            aria-invalid={problem !== null}
            aria-describedby={
              problem !== null ? "new-agent-name-error" : undefined
            }
            onChange={(event) => {
              setName(event.target.value);
              setProblem(null);
            }}
          />
        </div>
        <button type="submit" disabled={creating}>
          {creating ? "Creating…" : "Create agent"}
        </button>
      </div>
      {problem !== null && (
        <p id="new-agent-name-error" className="field-error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}
