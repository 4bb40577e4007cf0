import { useEffect, useState, type ReactNode } from "react";
import { Provider, type Client } from "urql";

import { connect } from "./client";

interface ApiProviderProps {
  token: string;
  onRefused: () => void;
  children: ReactNode;
}

/** Gives its children a GraphQL client that lives as long as the token. */
export function ApiProvider({ token, onRefused, children }: ApiProviderProps) {
  const [client, setClient] = useState<Client | null>(null);

  useEffect(() => {
    const connection = connect(token, onRefused);
    setClient(connection.client);
    return connection.close;
  }, [token, onRefused]);

  if (client === null) return null;
  return <Provider value={client}>{children}</Provider>;
}
