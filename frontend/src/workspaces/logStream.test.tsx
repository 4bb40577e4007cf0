import { render, screen } from "@testing-library/react";
import { Provider } from "urql";
import { describe, expect, it, vi } from "vitest";

import { connect } from "../graphql/client";
import { FakeSocket } from "../test/FakeSocket";
import { appendChunk } from "./logStream";
import { OperationLog } from "./OperationLog";

const bytes = (text: string) => new TextEncoder().encode(text).length;

function serverSays(socket: FakeSocket, message: object) {
  socket.onmessage?.({ data: JSON.stringify(message) });
}

/** Acknowledges the socket's handshake; the subscription it then sends. */
async function subscribed(socket: FakeSocket) {
  serverSays(socket, { type: "connection_ack" });
  const isSubscribe = (m: unknown) =>
    (m as { type: string }).type === "subscribe";
  await vi.waitFor(() => expect(socket.sent.some(isSubscribe)).toBe(true));
  return socket.sent.find(isSubscribe) as {
    id: string;
    payload: { variables: Record<string, unknown> };
  };
}

describe("appendChunk", () => {
  it("keeps only the bytes it does not have, counted in UTF-8", () => {
    const first = "naïve café ✓\n";
    const log = appendChunk(
      { content: "", received: 0 },
      { content: first, offset: 0, nextOffset: bytes(first) },
    );
    expect(log).toEqual({ content: first, received: 17 });

    // The stream sent again from 13 bytes in: "✓\n" (4 bytes) is not new.
    const again = "✓\n日本語\n";
    const next = appendChunk(log, {
      content: again,
      offset: 13,
      nextOffset: 13 + bytes(again),
    });
    expect(next.content).toBe("naïve café ✓\n日本語\n");
    expect(next.received).toBe(27);

    expect(
      appendChunk(next, { content: "語\n", offset: 23, nextOffset: 27 }),
    ).toBe(next);
  });
});

describe("a followed log after a reconnect", () => {
  it("resubscribes from the bytes received, not the characters", async () => {
    const connection = connect("good", () => {}, {
      retryWait: async () => {},
    });
    render(
      <Provider value={connection.client}>
        <OperationLog operationId="op1" />
      </Provider>,
    );
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    const first = FakeSocket.opened[0]!;
    const { id, payload } = await subscribed(first);
    expect(payload.variables).toEqual({ operationId: "op1", offset: 0 });

    const text = "Grüße aus Köln ✓\n";
    serverSays(first, {
      id,
      type: "next",
      payload: {
        data: {
          operationLog: {
            __typename: "OutputChunk",
            content: text,
            offset: 0,
            nextOffset: bytes(text),
          },
        },
      },
    });
    const log = await screen.findByLabelText("Full log");
    await vi.waitFor(() => expect(log.textContent).toBe(text));

    first.close(1006, "gone");
    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(2));
    const second = FakeSocket.opened[1]!;
    const resumed = await subscribed(second);
    expect(bytes(text)).not.toBe(text.length);
    expect(resumed.payload.variables).toEqual({
      operationId: "op1",
      offset: bytes(text),
    });

    const more = "Tschüs\n";
    serverSays(second, {
      id: resumed.id,
      type: "next",
      payload: {
        data: {
          operationLog: {
            __typename: "OutputChunk",
            content: more,
            offset: bytes(text),
            nextOffset: bytes(text) + bytes(more),
          },
        },
      },
    });
    serverSays(second, { id: resumed.id, type: "complete" });
    expect(await screen.findByText("End of log.")).toBeDefined();
    expect(log.textContent).toBe(text + more);
    connection.close();
  });
});
