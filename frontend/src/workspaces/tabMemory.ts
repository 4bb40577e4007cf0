import { useCallback, useState } from "react";

// The workspace screen reopens on the tab last used for that workspace,
// across reloads.

export type WorkspaceTab = "configuration" | "runtime-logs" | "issues";

export const WORKSPACE_TABS: { id: WorkspaceTab; label: string }[] = [
  { id: "configuration", label: "Configuration" },
  { id: "runtime-logs", label: "Runtime logs" },
  { id: "issues", label: "Issues" },
];

const DEFAULT_TAB: WorkspaceTab = "configuration";

export function tabKey(workspaceId: string): string {
  return `worksite:execution-workspace-tab:${workspaceId}`;
}

export function rememberedTab(workspaceId: string): WorkspaceTab {
  const stored = localStorage.getItem(tabKey(workspaceId));
  const known = WORKSPACE_TABS.find((tab) => tab.id === stored);
  return known?.id ?? DEFAULT_TAB;
}

/** The selected tab of one workspace's screen, remembered as it changes. */
export function useWorkspaceTab(
  workspaceId: string,
): [WorkspaceTab, (tab: WorkspaceTab) => void] {
  const [state, setState] = useState(() => ({
    workspaceId,
    tab: rememberedTab(workspaceId),
  }));
  // Another workspace opened in the same screen starts on its own tab.
  const tab =
    state.workspaceId === workspaceId ? state.tab : rememberedTab(workspaceId);

  const select = useCallback(
    (next: WorkspaceTab) => {
      localStorage.setItem(tabKey(workspaceId), next);
      setState({ workspaceId, tab: next });
    },
    [workspaceId],
  );
  return [tab, select];
}
