import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import {
  ALL_SERVICES,
  useCommandActions,
  type ActionOutcome,
} from "./commandActions";

function deferred() {
  let settle: (outcome: ActionOutcome) => void = () => {};
  const promise = new Promise<ActionOutcome>((resolve) => {
    settle = resolve;
  });
  return { promise, settle };
}

describe("useCommandActions", () => {
  it("shows a pending action and ignores a duplicate", async () => {
    const { result } = renderHook(() => useCommandActions());
    const answer = deferred();
    let sent = 0;
    const send = () => {
      sent += 1;
      return answer.promise;
    };

    let first: Promise<void> = Promise.resolve();
    act(() => {
      first = result.current.perform("web", "start", send);
      void result.current.perform("web", "restart", send);
    });

    expect(sent).toBe(1);
    expect(result.current.pendingFor("web")).toEqual({
      command: "web",
      action: "start",
    });
    await act(async () => {
      answer.settle({ ok: true });
      await first;
    });
    expect(result.current.pendingFor("web")).toBeUndefined();
    expect(result.current.last).toEqual({
      command: "web",
      action: "start",
      ok: true,
      message: "Workspace service started.",
    });
  });

  it("lets another command act meanwhile", () => {
    const { result } = renderHook(() => useCommandActions());
    const web = deferred();
    const migrate = deferred();

    act(() => {
      void result.current.perform("web", "start", () => web.promise);
      void result.current.perform("migrate", "run", () => migrate.promise);
    });

    expect(result.current.pending).toHaveLength(2);
  });

  it("keeps the error of a failed action", async () => {
    const { result } = renderHook(() => useCommandActions());

    await act(() =>
      result.current.perform("lint", "run", async () => ({
        ok: false,
        error: "Workspace job failed with exit code 2.",
      })),
    );

    expect(result.current.last).toMatchObject({
      ok: false,
      message: "Workspace job failed with exit code 2.",
    });
    expect(result.current.pending).toEqual([]);
  });

  it("turns a network failure into an error", async () => {
    const { result } = renderHook(() => useCommandActions());

    await act(() =>
      result.current.perform("web", "stop", () =>
        Promise.reject(new Error("Failed to fetch")),
      ),
    );

    expect(result.current.last).toMatchObject({
      ok: false,
      message: "Failed to fetch",
    });
  });

  it("does not act on a service while every service is acted on, nor the reverse", async () => {
    const { result } = renderHook(() => useCommandActions());
    const all = deferred();
    let sent = 0;
    const send = () => {
      sent += 1;
      return all.promise;
    };

    let first: Promise<void> = Promise.resolve();
    act(() => {
      first = result.current.perform(ALL_SERVICES, "start", send, ["web"]);
      void result.current.perform("web", "stop", send, [ALL_SERVICES]);
      void result.current.perform("migrate", "run", () => {
        sent += 1;
        return deferred().promise; // still running at the end
      });
    });
    expect(sent).toBe(2); // the start of all, and the unrelated job
    expect(result.current.pendingFor("web")).toBeUndefined();

    await act(async () => {
      all.settle({ ok: true });
      await first;
    });
    expect(result.current.last).toMatchObject({
      command: ALL_SERVICES,
      message: "Workspace services started.",
    });

    const web = deferred();
    act(() => {
      void result.current.perform("web", "stop", () => web.promise, [
        ALL_SERVICES,
      ]);
      void result.current.perform(ALL_SERVICES, "stop", send, ["web"]);
    });
    expect(sent).toBe(2);
    expect(result.current.pendingFor(ALL_SERVICES)).toBeUndefined();
  });
});
