import type {
  IssuePriority,
  IssueStatus,
  RunStatus,
  WorkspaceMode,
} from "../graphql/generated";
import type { PillTone } from "../ui/Pill";

/** In the order work moves through them. */
export const ISSUE_STATUSES: IssueStatus[] = [
  "BACKLOG",
  "TODO",
  "IN_PROGRESS",
  "IN_REVIEW",
  "DONE",
  "CANCELLED",
];

export const STATUS_LABELS: Record<IssueStatus, string> = {
  BACKLOG: "Backlog",
  TODO: "Todo",
  IN_PROGRESS: "In progress",
  IN_REVIEW: "In review",
  DONE: "Done",
  CANCELLED: "Cancelled",
};

/** From least to most pressing. */
export const PRIORITIES: IssuePriority[] = [
  "NONE",
  "LOW",
  "MEDIUM",
  "HIGH",
  "URGENT",
];

export const PRIORITY_LABELS: Record<IssuePriority, string> = {
  NONE: "No priority",
  LOW: "Low",
  MEDIUM: "Medium",
  HIGH: "High",
  URGENT: "Urgent",
};

export const RUN_LABELS: Record<RunStatus, string> = {
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

export const RUN_TONES: Record<RunStatus, PillTone> = {
  RUNNING: "busy",
  SUCCEEDED: "good",
  FAILED: "bad",
  CANCELLED: "neutral",
};

export const WORKSPACE_MODE_CHOICE: Record<WorkspaceMode, string> = {
  ISOLATED: "Isolated: a new workspace of its own",
  REUSE: "Reuse an existing workspace",
  PROJECT_PRIMARY: "The project's primary workspace",
};
