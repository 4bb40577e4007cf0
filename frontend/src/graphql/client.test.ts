import { gql } from "@urql/core";
import { afterEach, describe, expect, it, vi } from "vitest";

import { FakeSocket } from "../test/FakeSocket";
import { connect, websocketUrl } from "./client";

describe("websocketUrl", () => {
  it("uses ws: next to a plain http page", () => {
    const location = { protocol: "http:", host: "127.0.0.1:8000" };
    expect(websocketUrl(location)).toBe("ws://127.0.0.1:8000/graphql");
  });

  it("uses wss: next to an https page", () => {
    const location = { protocol: "https:", host: "worksite.example" };
    expect(websocketUrl(location)).toBe("wss://worksite.example/graphql");
  });
});

describe("subscriptions", () => {
  const Ticks = gql`
    subscription Ticks {
      tick
    }
  `;

  afterEach(() => {
    FakeSocket.opened = [];
  });

  it("forgets a token the websocket handshake refuses", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    const onRefused = vi.fn();
    const connection = connect("stale", onRefused);

    connection.client.subscription(Ticks, {}).subscribe(() => {});
    await vi.waitFor(() => expect(FakeSocket.opened[0]?.sent).toHaveLength(1));
    const socket = FakeSocket.opened[0]!;
    expect(socket.url).toBe(`ws://${window.location.host}/graphql`);
    expect(socket.protocol).toBe("graphql-transport-ws");
    expect(socket.sent[0]).toEqual({
      type: "connection_init",
      payload: { authorization: "Bearer stale" },
    });

    // What Strawberry does when on_ws_connect rejects the connection.
    socket.close(4403, "Forbidden");
    expect(onRefused).toHaveBeenCalledOnce();
    connection.close();
  });
});
