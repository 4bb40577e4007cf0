from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from worksite.models.enums import (
    ProviderType,
    WorkspaceMode,
    WorkspaceStatus,
    check_in,
)

if TYPE_CHECKING:
    from worksite.models.environments import Environment
    from worksite.models.issues import Issue
    from worksite.models.projects import Project, ProjectWorkspace


class ExecutionWorkspace(Model):
    """One concrete working directory tied to task runs.

    Lifecycle commands left empty here are inherited from the project workspace;
    `runtime_override` replaces the project workspace's runtime config when set.
    """

    id = fields.UUIDField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "worksite.Project", related_name="execution_workspaces", on_delete=fields.CASCADE
    )
    project_workspace: fields.ForeignKeyRelation[ProjectWorkspace] = fields.ForeignKeyField(
        "worksite.ProjectWorkspace",
        related_name="execution_workspaces",
        on_delete=fields.RESTRICT,
    )
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "worksite.Environment", related_name="execution_workspaces", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    mode = fields.CharEnumField(WorkspaceMode, max_length=32)
    provider_type = fields.CharEnumField(ProviderType, max_length=32)
    status = fields.CharEnumField(
        WorkspaceStatus, max_length=32, default=WorkspaceStatus.PROVISIONING
    )
    branch_name = fields.CharField(max_length=255, default="")
    cwd = fields.TextField(default="")
    provider_ref = fields.TextField(default="")
    repo_url = fields.TextField(default="")
    base_ref = fields.CharField(max_length=255, default="")
    provision_command = fields.TextField(default="")
    cleanup_command = fields.TextField(default="")
    teardown_command = fields.TextField(default="")
    runtime_override: Any = fields.JSONField(null=True)
    # True when Worksite made the branch, so close may delete it once merged.
    created_branch = fields.BooleanField(default=False)
    # True once the provision command has succeeded here.
    provisioned = fields.BooleanField(default=False)
    source_issue: fields.ForeignKeyNullableRelation[Issue] = fields.ForeignKeyField(
        "worksite.Issue",
        related_name="sourced_workspaces",
        null=True,
        on_delete=fields.SET_NULL,
    )
    derived_from: fields.ForeignKeyNullableRelation[ExecutionWorkspace] = fields.ForeignKeyField(
        "worksite.ExecutionWorkspace",
        related_name="derivatives",
        null=True,
        on_delete=fields.SET_NULL,
    )
    opened_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(auto_now_add=True)
    closed_at = fields.DatetimeField(null=True)
    cleanup_eligible_at = fields.DatetimeField(null=True)
    cleanup_reason: str | None = fields.TextField(null=True)
    # Where close saved uncommitted and unmerged work (a ref in the repository).
    saved_work_ref = fields.TextField(null=True)
    # Close steps already done, so a retried close resumes instead of repeating them.
    close_steps_done: Any = fields.JSONField(null=True)

    class Meta:
        table = "execution_workspace"
        constraints = (
            CheckConstraint(check=check_in("mode", WorkspaceMode), name="ew_mode"),
            CheckConstraint(check=check_in("status", WorkspaceStatus), name="ew_status"),
            CheckConstraint(check=check_in("provider_type", ProviderType), name="ew_provider_type"),
        )
