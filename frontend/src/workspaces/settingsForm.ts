import type {
  SaveExecutionWorkspaceInput,
  WorkspaceDetailFragment,
} from "../graphql/generated";
import { checkRuntimeJson } from "./runtimeJson";

// The Workspace settings card edits a draft; Save changes sends only what
// differs from what is saved, Reset goes back to it.

export const TEXT_FIELDS = [
  { name: "name", label: "Workspace name" },
  { name: "branchName", label: "Branch name" },
  { name: "cwd", label: "Working directory" },
  { name: "providerRef", label: "Provider path / ref" },
  { name: "repoUrl", label: "Repo URL" },
  { name: "baseRef", label: "Base ref" },
  { name: "provisionCommand", label: "Provision command", multiline: true },
  { name: "teardownCommand", label: "Teardown command", multiline: true },
  { name: "cleanupCommand", label: "Cleanup command", multiline: true },
] as const;

export type TextField = (typeof TEXT_FIELDS)[number]["name"];

export type SettingsDraft = Record<TextField, string> & {
  /** Checked: no override, the project workspace's config applies. */
  inheritRuntime: boolean;
  runtimeJson: string;
};

export function draftFrom(saved: WorkspaceDetailFragment): SettingsDraft {
  const override = saved.runtimeOverride ?? null;
  const shown = override ?? saved.effectiveRuntimeConfig ?? { commands: [] };
  return {
    name: saved.name,
    branchName: saved.branchName,
    cwd: saved.cwd,
    providerRef: saved.providerRef,
    repoUrl: saved.repoUrl,
    baseRef: saved.baseRef,
    provisionCommand: saved.provisionCommand,
    teardownCommand: saved.teardownCommand,
    cleanupCommand: saved.cleanupCommand,
    inheritRuntime: override === null,
    runtimeJson: JSON.stringify(shown, null, 2),
  };
}

export type SaveChanges =
  | { ok: true; input: SaveExecutionWorkspaceInput }
  | { ok: false; runtimeError: string };

/** What Save changes sends, or why the runtime JSON stops it. */
export function changesToSave(
  saved: WorkspaceDetailFragment,
  draft: SettingsDraft,
): SaveChanges {
  const before = draftFrom(saved);
  const input: SaveExecutionWorkspaceInput = {};
  for (const { name } of TEXT_FIELDS) {
    if (draft[name] !== before[name]) input[name] = draft[name];
  }

  if (draft.inheritRuntime) {
    if (!before.inheritRuntime) input.runtimeOverride = null;
    return { ok: true, input };
  }
  const check = checkRuntimeJson(draft.runtimeJson);
  if (!check.ok) return { ok: false, runtimeError: check.error };
  const unchanged =
    !before.inheritRuntime &&
    JSON.stringify(check.value) === JSON.stringify(saved.runtimeOverride);
  if (!unchanged) input.runtimeOverride = check.value;
  return { ok: true, input };
}

export function isDirty(
  saved: WorkspaceDetailFragment,
  draft: SettingsDraft,
): boolean {
  const before = draftFrom(saved);
  return (Object.keys(before) as (keyof SettingsDraft)[]).some(
    (key) => before[key] !== draft[key],
  );
}
