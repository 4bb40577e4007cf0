import { gql } from "@urql/core";
import { render } from "@testing-library/react";
import { Provider } from "urql";
import { afterEach, describe, expect, it, vi } from "vitest";

import { FakeSocket } from "../test/FakeSocket";
import { connect } from "./client";
import { useRefreshOn } from "./live";

const Changes = gql<unknown, { projectId: string }>`
  subscription Changes($projectId: ID!) {
    changes(projectId: $projectId)
  }
`;

function Follower(props: { projectId: string; refresh: () => void }) {
  useRefreshOn(Changes, { projectId: props.projectId }, props.refresh);
  return null;
}

function serverSays(socket: FakeSocket, message: object) {
  socket.onmessage?.({ data: JSON.stringify(message) });
}

async function subscribed(socket: FakeSocket) {
  serverSays(socket, { type: "connection_ack" });
  await vi.waitFor(() =>
    expect(
      socket.sent.some((m) => (m as { type: string }).type === "subscribe"),
    ).toBe(true),
  );
  const message = socket.sent.find(
    (m) => (m as { type: string }).type === "subscribe",
  ) as { id: string; payload: { variables: unknown } };
  return message;
}

describe("useRefreshOn", () => {
  afterEach(() => {
    FakeSocket.opened = [];
  });

  it("refreshes once per burst of events, and stops on unmount", async () => {
    vi.stubGlobal("WebSocket", FakeSocket);
    const connection = connect("good", () => {});
    const refresh = vi.fn();
    const view = render(
      <Provider value={connection.client}>
        <Follower projectId="p1" refresh={refresh} />
      </Provider>,
    );

    await vi.waitFor(() => expect(FakeSocket.opened).toHaveLength(1));
    const socket = FakeSocket.opened[0]!;
    const { id, payload } = await subscribed(socket);
    expect(payload.variables).toEqual({ projectId: "p1" });

    const next = { id, type: "next", payload: { data: { changes: 1 } } };
    serverSays(socket, next);
    serverSays(socket, next);
    await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));

    serverSays(socket, next);
    await vi.waitFor(() => expect(refresh).toHaveBeenCalledTimes(2));

    view.unmount();
    await vi.waitFor(() =>
      expect(socket.sent).toContainEqual({ id, type: "complete" }),
    );
    connection.close();
  });
});
