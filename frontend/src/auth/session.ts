import { useCallback, useState } from "react";

import { forgetToken, readToken, storeToken } from "./token";

export const REFUSED_NOTICE = "That token was not accepted.";

export interface Session {
  /** The token in use, or null while the operator is signed out. */
  token: string | null;
  /** Why the operator is looking at the sign-in screen, if not by choice. */
  notice: string | null;
  signIn: (token: string) => void;
  signOut: () => void;
  /** Drops a token the server turned down. */
  refuse: () => void;
}

export function useSession(): Session {
  const [token, setToken] = useState(readToken);
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = useCallback((next: string) => {
    storeToken(next);
    setNotice(null);
    setToken(next);
  }, []);

  const signOut = useCallback(() => {
    forgetToken();
    setNotice(null);
    setToken(null);
  }, []);

  const refuse = useCallback(() => {
    forgetToken();
    setNotice(REFUSED_NOTICE);
    setToken(null);
  }, []);

  return { token, notice, signIn, signOut, refuse };
}
