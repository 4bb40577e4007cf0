"""Enumerations shared by the models, the domain and the API.

Member names are the GraphQL enum values; member values are what the database stores.
"""

from __future__ import annotations

from enum import Enum


class WorkspaceMode(str, Enum):
    ISOLATED = "isolated"
    REUSE = "reuse"
    PROJECT_PRIMARY = "project_primary"


class WorkspaceStatus(str, Enum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    CLOSING = "closing"
    ARCHIVED = "archived"
    CLEANUP_FAILED = "cleanup_failed"


class ProviderType(str, Enum):
    GIT_WORKTREE = "git_worktree"
    LOCAL_FS = "local_fs"


class EnvironmentKind(str, Enum):
    LOCAL = "local"
    SSH = "ssh"


class IssueStatus(str, Enum):
    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"
    CANCELLED = "cancelled"


class IssuePriority(str, Enum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class RunStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OperationStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ServiceStatus(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


class ServiceHealth(str, Enum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"


class OperationCategory(str, Enum):
    PROVISION = "provision"
    RUNTIME = "runtime"
    CLEANUP = "cleanup"


def check_in(column: str, enum: type[Enum], nullable: bool = False) -> str:
    """SQL for a CHECK constraint keeping `column` inside the enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    clause = f"{column} IN ({values})"
    return f"{column} IS NULL OR {clause}" if nullable else clause
