"""The domain's enums, exposed to GraphQL under their member names."""

from __future__ import annotations

from enum import Enum

import strawberry

from worksite.domain.runtime_config import RuntimeConfigSource as _RuntimeConfigSource
from worksite.models import enums

WorkspaceMode = strawberry.enum(
    enums.WorkspaceMode, description="How an issue's workspace is chosen."
)
WorkspaceStatus = strawberry.enum(
    enums.WorkspaceStatus, description="Where a workspace is in its life."
)
ProviderType = strawberry.enum(
    enums.ProviderType, description="What kind of directory a workspace is."
)
EnvironmentKind = strawberry.enum(enums.EnvironmentKind, description="Where workspaces are made.")
IssueStatus = strawberry.enum(enums.IssueStatus)
IssuePriority = strawberry.enum(enums.IssuePriority)
RunStatus = strawberry.enum(enums.RunStatus)
OperationStatus = strawberry.enum(enums.OperationStatus)
OperationCategory = strawberry.enum(enums.OperationCategory)
ServiceStatus = strawberry.enum(
    enums.ServiceStatus, description="Where a runtime service is in its life."
)
ServiceHealth = strawberry.enum(
    enums.ServiceHealth,
    description="What the readiness check says while a service runs; UNKNOWN without one.",
)
RuntimeConfigSource = strawberry.enum(
    _RuntimeConfigSource, description="Which level's runtime config is in effect."
)


@strawberry.enum
class CommandKind(str, Enum):
    SERVICE = "service"
    JOB = "job"


@strawberry.enum
class ViewerRole(str, Enum):
    OPERATOR = "operator"
    AGENT = "agent"
