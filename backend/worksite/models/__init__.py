"""Tortoise ORM models. GraphQL types are built from these in api/types."""

from worksite.models.agents import Agent
from worksite.models.environments import Environment
from worksite.models.issues import Issue, IssueWorkspaceLink, Run
from worksite.models.operations import Operation
from worksite.models.projects import Project, ProjectWorkspace
from worksite.models.services import PortLease, RuntimeService
from worksite.models.workspaces import ExecutionWorkspace

__all__ = [
    "Agent",
    "Environment",
    "ExecutionWorkspace",
    "Issue",
    "IssueWorkspaceLink",
    "Operation",
    "PortLease",
    "Project",
    "ProjectWorkspace",
    "Run",
    "RuntimeService",
]
