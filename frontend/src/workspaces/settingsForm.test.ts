import { describe, expect, it } from "vitest";

import { workspaceDetail } from "../test/fixtures";
import { changesToSave, draftFrom, isDirty } from "./settingsForm";

describe("changesToSave", () => {
  it("sends only the fields that changed", () => {
    const saved = workspaceDetail();
    const draft = { ...draftFrom(saved), name: "renamed", cwd: "" };

    expect(changesToSave(saved, draft)).toEqual({
      ok: true,
      input: { name: "renamed", cwd: "" },
    });
  });

  it("sends nothing for an untouched draft", () => {
    const saved = workspaceDetail();
    expect(changesToSave(saved, draftFrom(saved))).toEqual({
      ok: true,
      input: {},
    });
    expect(isDirty(saved, draftFrom(saved))).toBe(false);
  });

  it("sends the parsed override when inheritance is turned off", () => {
    const saved = workspaceDetail();
    const override = { commands: [{ name: "t", kind: "job", command: "x" }] };
    const draft = {
      ...draftFrom(saved),
      inheritRuntime: false,
      runtimeJson: JSON.stringify(override),
    };

    expect(changesToSave(saved, draft)).toEqual({
      ok: true,
      input: { runtimeOverride: override },
    });
  });

  it("drops the override when inheritance is turned back on", () => {
    const override = { commands: [{ name: "t", kind: "job", command: "x" }] };
    const saved = workspaceDetail({
      runtimeOverride: override,
      runtimeConfigSource: "EXECUTION_WORKSPACE_OVERRIDE",
    });
    const draft = { ...draftFrom(saved), inheritRuntime: true };

    expect(draftFrom(saved).inheritRuntime).toBe(false);
    expect(changesToSave(saved, draft)).toEqual({
      ok: true,
      input: { runtimeOverride: null },
    });
  });

  it("stops at broken JSON, with the reason", () => {
    const saved = workspaceDetail();
    const draft = {
      ...draftFrom(saved),
      name: "renamed",
      inheritRuntime: false,
      runtimeJson: "[1, 2]",
    };

    expect(changesToSave(saved, draft)).toEqual({
      ok: false,
      runtimeError:
        'Expected a JSON object with "commands" or "services", got a list.',
    });
  });

  it("ignores the editor while the config is inherited", () => {
    const saved = workspaceDetail();
    const draft = { ...draftFrom(saved), runtimeJson: "not json" };
    expect(changesToSave(saved, draft)).toEqual({ ok: true, input: {} });
  });
});
