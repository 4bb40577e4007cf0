import { vi } from "vitest";

import type { ProjectSummary } from "../projects/types";

/** Stands in for the server's /graphql endpoint by replacing `fetch`. */
export function answerWith(status: number, body: string, type: string) {
  const fetch = vi.fn(
    async (_url: string, _init?: RequestInit) =>
      new Response(body, { status, headers: { "Content-Type": type } }),
  );
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

export function answerProjects(projects: ProjectSummary[]) {
  const data = { viewer: { role: "OPERATOR", name: "Ada" }, projects };
  return answerWith(200, JSON.stringify({ data }), "application/json");
}

export function authorizationOf(fetch: ReturnType<typeof answerWith>) {
  const init = fetch.mock.calls[0]?.[1];
  return new Headers(init?.headers).get("Authorization");
}
