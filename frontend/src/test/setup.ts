import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach, vi } from "vitest";

import { FakeSocket } from "./FakeSocket";

beforeEach(() => {
  // Subscriptions open sockets; no test reaches a real server.
  FakeSocket.opened = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  localStorage.clear();
  window.history.replaceState(null, "", "/");
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});
