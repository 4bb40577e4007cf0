import {
  Client,
  cacheExchange,
  fetchExchange,
  mapExchange,
  subscriptionExchange,
  type CombinedError,
} from "@urql/core";
import {
  CloseCode,
  createClient as createWsClient,
  type ClientOptions,
} from "graphql-ws";

/**
 * The name, in a subscription's context, of a function that gives the
 * variables to send when the socket reconnects and the subscription is sent
 * again: a log stream resumes from the offset it had reached.
 */
export const RESUME = "worksiteResume";

/** The server answers GraphQL on the page's own origin. */
export const GRAPHQL_PATH = "/graphql";

export interface ApiConnection {
  client: Client;
  close: () => void;
}

/**
 * Builds the GraphQL client for one token: queries and mutations go over
 * HTTP, subscriptions over one graphql-transport-ws socket, opened on the
 * first subscription. `onRefused` runs when the server turns the token down.
 */
export function connect(
  token: string,
  onRefused: () => void,
  options: Pick<ClientOptions, "retryWait"> = {},
): ApiConnection {
  const authorization = `Bearer ${token}`;

  const socket = createWsClient({
    ...options,
    url: websocketUrl(window.location),
    connectionParams: { authorization },
    on: {
      // Strawberry closes with 4403 when it turns down connection_init.
      closed: (event) => {
        if (closeCodeOf(event) === CloseCode.Forbidden) onRefused();
      },
    },
  });

  const client = new Client({
    url: GRAPHQL_PATH,
    // urql 6 sends short queries as GET; POST keeps documents out of URLs
    // and the server's access log.
    preferGetMethod: false,
    fetchOptions: { headers: { Authorization: authorization } },
    exchanges: [
      cacheExchange,
      mapExchange({
        onError: (error) => {
          if (isRefusal(error)) onRefused();
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request, operation) => ({
          subscribe: (sink) => {
            // Documents are always sent in full; there are no persisted ids.
            const payload = { ...request, query: request.query ?? "" };
            const resume: unknown = operation.context[RESUME];
            if (typeof resume === "function") {
              // graphql-ws sends this payload again after a reconnect: read
              // then, the variables say where the stream stopped.
              Object.defineProperty(payload, "variables", {
                enumerable: true,
                get: () => ({ ...request.variables, ...resume() }),
              });
            }
            return { unsubscribe: socket.subscribe(payload, sink) };
          },
        }),
      }),
    ],
  });

  return { client, close: () => void socket.dispose() };
}

/** The websocket address of the GraphQL endpoint for a page at `location`. */
export function websocketUrl(location: Pick<Location, "protocol" | "host">) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${GRAPHQL_PATH}`;
}

function isRefusal(error: CombinedError): boolean {
  // `response` is the fetch Response for HTTP results, absent for sockets.
  const status: unknown = error.response?.status;
  return status === 401;
}

function closeCodeOf(event: unknown): number | null {
  if (typeof event !== "object" || event === null) return null;
  const code: unknown = (event as { code?: unknown }).code;
  return typeof code === "number" ? code : null;
}
