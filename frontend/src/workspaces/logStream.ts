import { useEffect, useState } from "react";
import { useClient, type TypedDocumentNode } from "urql";
import { onEnd, pipe, subscribe } from "wonka";

import { RESUME } from "../graphql/client";

/** A piece of a log as the server sends it: offsets count bytes. */
export interface Chunk {
  content: string;
  offset: number;
  nextOffset: number;
}

/** What a log subscription delivers: a chunk, or the error that ends it. */
export type LogEvent =
  | ({ __typename: "OutputChunk" } & Chunk)
  | { __typename: Exclude<string, "OutputChunk">; message: string };

export interface LogText {
  content: string;
  /** Bytes of the log received so far: the last chunk's `nextOffset`. */
  received: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `log` with the part of `chunk` it does not have yet. The server counts
 * bytes of UTF-8, JavaScript strings count UTF-16 units, so a chunk that
 * repeats some bytes (a stream resumed from an earlier offset) is cut by
 * its bytes, never by its characters.
 */
export function appendChunk(log: LogText, chunk: Chunk): LogText {
  if (chunk.nextOffset <= log.received) return log;
  const known = log.received - chunk.offset;
  const fresh =
    known <= 0
      ? chunk.content
      : decoder.decode(encoder.encode(chunk.content).subarray(known));
  return { content: log.content + fresh, received: chunk.nextOffset };
}

export interface FollowedLog {
  content: string;
  complete: boolean;
  error: string | null;
}

/**
 * Follows a log subscription from offset 0 until it completes. After a
 * reconnect the subscription is sent again from the bytes received so far.
 * New `variables` start over, or, with `separator`, go on below what is
 * shown (a service's next run after a restart).
 */
export function useFollowedLog<Data, Variables extends { offset: number }>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  eventOf: (data: Data | undefined) => LogEvent | undefined,
  separator?: string,
): FollowedLog {
  const client = useClient();
  const [state, setState] = useState<FollowedLog>({
    content: "",
    complete: false,
    error: null,
  });
  const key = JSON.stringify(variables);

  useEffect(() => {
    let stopped = false;
    let received = 0;
    setState((current) => ({
      content:
        separator !== undefined && current.content !== ""
          ? current.content + separator
          : "",
      complete: false,
      error: null,
    }));

    const start = { ...(JSON.parse(key) as Variables), offset: 0 };
    const context = { [RESUME]: () => ({ offset: received }) };
    const { unsubscribe } = pipe(
      client.subscription(document, start, context),
      onEnd(() => {
        if (!stopped) setState((current) => ({ ...current, complete: true }));
      }),
      subscribe((result) => {
        const event = eventOf(result.data);
        if (result.error !== undefined || event === undefined) {
          const error = result.error?.message ?? "The log stream failed.";
          setState((current) => ({ ...current, error }));
        } else if (!("content" in event)) {
          setState((current) => ({ ...current, error: event.message }));
        } else {
          const fresh = appendChunk({ content: "", received }, event);
          received = fresh.received;
          setState((current) => ({
            ...current,
            content: current.content + fresh.content,
          }));
        }
      }),
    );
    return () => {
      stopped = true;
      unsubscribe();
    };
    // eventOf and separator are fixed per call site.
  }, [client, document, key]);

  return state;
}
