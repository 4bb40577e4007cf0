import { useEffect, useRef } from "react";

import type { AgentRowFragment } from "../graphql/generated";
import { GRAPHQL_PATH } from "../graphql/client";
import { CopyButton } from "../ui/CopyButton";

export interface IssuedToken {
  agent: AgentRowFragment;
  token: string;
}

interface NewAgentTokenProps {
  issued: IssuedToken;
  onDone: () => void;
}

/**
 * A new agent's token, on screen this once: the server keeps only its
 * hash, so nothing can show it again.
 */
export function NewAgentToken({ issued, onDone }: NewAgentTokenProps) {
  const { agent, token } = issued;
  const heading = useRef<HTMLHeadingElement>(null);

  // Read first, before anything else on the screen.
  useEffect(() => heading.current?.focus(), []);

  return (
    <section className="token-once stack" aria-labelledby="token-heading">
      <h3 id="token-heading" ref={heading} tabIndex={-1}>
        Token for {agent.name}
      </h3>
      <p>
        <strong>Copy it now: it will not be shown again.</strong> Worksite keeps
        only a hash of it. If it is lost, revoke the agent and create another.
      </p>
      <div className="with-copy">
        <code className="token">{token}</code>
        <CopyButton text={token} label="Copy token" />
      </div>
      <p className="small">
        The agent sends it in the <code>Authorization</code> header of every
        request, for example:
      </p>
      <pre className="excerpt">{curlExample(token)}</pre>
      <div>
        <button type="button" className="secondary" onClick={onDone}>
          Done, hide the token
        </button>
      </div>
    </section>
  );
}

function curlExample(token: string): string {
  const url = `${window.location.origin}${GRAPHQL_PATH}`;
  return [
    `curl ${url} \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"query": "{ viewer { role name } }"}'`,
  ].join("\n");
}
