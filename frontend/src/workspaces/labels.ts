import type {
  OperationStatus,
  ProviderType,
  RuntimeConfigSource,
  WorkspaceMode,
  WorkspaceStatus,
} from "../graphql/generated";
import type { PillTone } from "../ui/Pill";

export const MODE_LABELS: Record<WorkspaceMode, string> = {
  ISOLATED: "Isolated",
  REUSE: "Reuse",
  PROJECT_PRIMARY: "Project primary",
};

export const PROVIDER_LABELS: Record<ProviderType, string> = {
  GIT_WORKTREE: "Git worktree",
  LOCAL_FS: "Local directory",
};

export const STATUS_LABELS: Record<WorkspaceStatus, string> = {
  PROVISIONING: "Provisioning",
  ACTIVE: "Active",
  CLOSING: "Closing",
  ARCHIVED: "Archived",
  CLEANUP_FAILED: "Cleanup failed",
};

export const STATUS_TONES: Record<WorkspaceStatus, PillTone> = {
  PROVISIONING: "busy",
  ACTIVE: "good",
  CLOSING: "busy",
  ARCHIVED: "neutral",
  CLEANUP_FAILED: "bad",
};

export const SOURCE_LABELS: Record<RuntimeConfigSource, string> = {
  EXECUTION_WORKSPACE_OVERRIDE: "Execution workspace override",
  PROJECT_WORKSPACE_DEFAULT: "Project workspace default",
  NONE: "None",
};

export const SOURCE_EXPLANATIONS: Record<RuntimeConfigSource, string> = {
  EXECUTION_WORKSPACE_OVERRIDE:
    "This workspace has its own runtime config and ignores the project " +
    "workspace's.",
  PROJECT_WORKSPACE_DEFAULT:
    "This workspace inherits the runtime config of its project workspace.",
  NONE:
    "Neither this workspace nor its project workspace defines a runtime " +
    "config, so there are no services to start.",
};

export const OPERATION_LABELS: Record<OperationStatus, string> = {
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
};

export const OPERATION_TONES: Record<OperationStatus, PillTone> = {
  RUNNING: "busy",
  SUCCEEDED: "good",
  FAILED: "bad",
};
