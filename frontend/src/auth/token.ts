/** The localStorage key holding the token between visits. */
export const TOKEN_KEY = "worksite:token";

const TOKEN_PARAM = "token";

export function readToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

/**
 * Moves a `token` query parameter from the address bar into storage, so the
 * sign-in link the server prints leaves no secret in the browser's history.
 * The path, the other parameters and the fragment stay as they were.
 */
export function captureTokenFromUrl(): void {
  const url = new URL(window.location.href);
  if (!url.searchParams.has(TOKEN_PARAM)) return;

  const token = url.searchParams.get(TOKEN_PARAM)?.trim() ?? "";
  if (token !== "") storeToken(token);

  url.searchParams.delete(TOKEN_PARAM);
  const rest = url.pathname + url.search + url.hash;
  window.history.replaceState(window.history.state, "", rest);
}

/** Reads a token from what the operator pasted: the token or the whole link. */
export function tokenFromInput(text: string): string {
  const trimmed = text.trim();
  if (!/^https?:\/\//i.test(trimmed)) return trimmed;

  try {
    return new URL(trimmed).searchParams.get(TOKEN_PARAM)?.trim() ?? "";
  } catch {
    return "";
  }
}
