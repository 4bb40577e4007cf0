from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model

from worksite.models.enums import WorkspaceMode, check_in

if TYPE_CHECKING:
    from worksite.models.environments import Environment


class Project(Model):
    """A codebase under management, whose key prefixes issue identifiers."""

    id = fields.UUIDField(primary_key=True)
    key = fields.CharField(max_length=10, unique=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    default_workspace_mode = fields.CharEnumField(
        WorkspaceMode, max_length=32, default=WorkspaceMode.ISOLATED
    )
    issue_counter = fields.IntField(default=0)
    # Idle seconds after which a finished workspace is closed; None turns it off.
    cleanup_retention_seconds = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project"
        constraints = (
            CheckConstraint(
                check=check_in("default_workspace_mode", WorkspaceMode),
                name="project_default_workspace_mode",
            ),
        )


class ProjectWorkspace(Model):
    """The base configuration of a project: where the code lives, how to run it."""

    id = fields.UUIDField(primary_key=True)
    project: fields.ForeignKeyRelation[Project] = fields.ForeignKeyField(
        "worksite.Project", related_name="workspaces", on_delete=fields.CASCADE
    )
    environment: fields.ForeignKeyRelation[Environment] = fields.ForeignKeyField(
        "worksite.Environment", related_name="project_workspaces", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=200)
    is_primary = fields.BooleanField(default=False)
    repo_url = fields.TextField(default="")
    base_ref = fields.CharField(max_length=255, default="")
    cwd = fields.TextField(default="")
    provision_command = fields.TextField(default="")
    cleanup_command = fields.TextField(default="")
    teardown_command = fields.TextField(default="")
    runtime_config: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "project_workspace"
