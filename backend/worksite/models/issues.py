from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from worksite.models.enums import (
    IssuePriority,
    IssueStatus,
    RunStatus,
    WorkspaceMode,
    check_in,
)

if TYPE_CHECKING:
    from worksite.models.agents import Agent
    from worksite.models.projects import Project
    from worksite.models.workspaces import ExecutionWorkspace


class Issue(Model):
    """A unit of work, identified by the project key and a number (`PAP-12`)."""

    id = fields.UUIDField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "worksite.Project", related_name="issues", on_delete=fields.CASCADE
    )
    number = fields.IntField()
    identifier = fields.CharField(max_length=32, unique=True)
    title = fields.CharField(max_length=500)
    description = fields.TextField(default="")
    status = fields.CharEnumField(IssueStatus, max_length=32, default=IssueStatus.TODO)
    priority = fields.CharEnumField(IssuePriority, max_length=16, default=IssuePriority.NONE)
    assignee: fields.ForeignKeyNullableRelation[Agent] = fields.ForeignKeyField(
        "worksite.Agent", related_name="issues", null=True, on_delete=fields.SET_NULL
    )
    parent: fields.ForeignKeyNullableRelation[Issue] = fields.ForeignKeyField(
        "worksite.Issue", related_name="children", null=True, on_delete=fields.SET_NULL
    )
    inherit_workspace_from: fields.ForeignKeyNullableRelation[Issue] = fields.ForeignKeyField(
        "worksite.Issue",
        related_name="inheritors",
        null=True,
        on_delete=fields.SET_NULL,
    )
    # None: the project's default mode decides.
    workspace_mode = fields.CharEnumField(WorkspaceMode, max_length=32, null=True)
    execution_workspace: fields.ForeignKeyNullableRelation[ExecutionWorkspace] = (
        fields.ForeignKeyField(
            "worksite.ExecutionWorkspace",
            related_name="current_issues",
            null=True,
            on_delete=fields.SET_NULL,
        )
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "issue"
        constraints = (
            CheckConstraint(check=check_in("status", IssueStatus), name="issue_status"),
            CheckConstraint(check=check_in("priority", IssuePriority), name="issue_priority"),
            CheckConstraint(
                check=check_in("workspace_mode", WorkspaceMode, nullable=True),
                name="issue_workspace_mode",
            ),
        )


class IssueWorkspaceLink(Model):
    """Every issue that has ever been attached to a workspace."""

    id = fields.IntField(primary_key=True)
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "worksite.Issue", related_name="workspace_links", on_delete=fields.CASCADE
    )
    workspace: fields.ForeignKeyRelation[ExecutionWorkspace] = fields.ForeignKeyField(
        "worksite.ExecutionWorkspace",
        related_name="issue_links",
        on_delete=fields.CASCADE,
    )
    linked_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "issue_workspace_link"
        unique_together = (("issue", "workspace"),)


class Run(Model):
    """The work of one agent on one issue, from checkout to finish."""

    id = fields.UUIDField(primary_key=True)
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "worksite.Issue", related_name="runs", on_delete=fields.CASCADE
    )
    agent: fields.ForeignKeyRelation[Agent] = fields.ForeignKeyField(
        "worksite.Agent", related_name="runs", on_delete=fields.CASCADE
    )
    workspace: fields.ForeignKeyNullableRelation[ExecutionWorkspace] = fields.ForeignKeyField(
        "worksite.ExecutionWorkspace",
        related_name="runs",
        null=True,
        on_delete=fields.SET_NULL,
    )
    status = fields.CharEnumField(RunStatus, max_length=16, default=RunStatus.RUNNING)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "run"
        constraints = (CheckConstraint(check=check_in("status", RunStatus), name="run_status"),)
