import { vi } from "vitest";

/** Stands in for the server's /graphql endpoint by replacing `fetch`. */
export function answerWith(status: number, body: string, type: string) {
  const fetch = vi.fn(
    async (_url: string, _init?: RequestInit) =>
      new Response(body, { status, headers: { "Content-Type": type } }),
  );
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

export interface Request {
  operationName: string;
  variables: Record<string, unknown>;
}

/** The `data` for one operation, fixed or made from its variables. */
export type Answer =
  object | ((variables: Record<string, unknown>) => object | Promise<object>);

/**
 * A fake GraphQL server: answers each operation by name with the `data`
 * given for it, and records what was asked. An operation without an
 * answer fails the test loudly.
 */
export function fakeServer(answers: Record<string, Answer>) {
  const requests: Request[] = [];
  const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Request;
    requests.push({
      operationName: body.operationName,
      variables: body.variables,
    });
    const answer = answers[body.operationName];
    if (answer === undefined) {
      throw new Error(`No answer for operation ${body.operationName}`);
    }
    const data =
      typeof answer === "function" ? await answer(body.variables) : answer;
    return new Response(JSON.stringify({ data }), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetch);
  return { fetch, requests };
}

export const VIEWER = { viewer: { role: "OPERATOR", name: "Ada" } };

export function answerProjects(projects: object[]) {
  return fakeServer({ Viewer: VIEWER, ProjectsPage: { projects } }).fetch;
}

export function authorizationOf(fetch: ReturnType<typeof answerWith>) {
  const init = fetch.mock.calls[0]?.[1];
  return new Headers(init?.headers).get("Authorization");
}
