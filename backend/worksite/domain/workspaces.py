"""Execution workspaces: reading their effective settings and editing them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from worksite.domain import runtime_config, validation
from worksite.domain.auth import Principal, require_operator, require_workspace_access
from worksite.domain.errors import Forbidden
from worksite.domain.lookup import find
from worksite.events import bus, workspaces_topic
from worksite.models import ExecutionWorkspace, ProjectWorkspace
from worksite.models.enums import WorkspaceMode

LIFECYCLE_COMMANDS = ("provision_command", "cleanup_command", "teardown_command")
# Settings the host executes: only an operator may change them.
HOST_EXECUTED = {*LIFECYCLE_COMMANDS, "runtime_override"}


async def get_workspace(workspace_id: UUID | str) -> ExecutionWorkspace:
    return await find(ExecutionWorkspace, "execution workspace", "workspaceId", workspace_id)


def effective_command(
    workspace: ExecutionWorkspace, project_workspace: ProjectWorkspace, name: str
) -> str:
    """The workspace's own lifecycle command, else its project workspace's."""
    own: str = getattr(workspace, name)
    return own if own.strip() else str(getattr(project_workspace, name))


def effective_runtime(
    workspace: ExecutionWorkspace, project_workspace: ProjectWorkspace
) -> tuple[dict[str, Any] | None, runtime_config.RuntimeConfigSource]:
    return runtime_config.effective(workspace.runtime_override, project_workspace.runtime_config)


async def save_workspace(
    principal: Principal, workspace_id: UUID | str, fields: dict[str, Any]
) -> ExecutionWorkspace:
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    if not principal.is_operator and HOST_EXECUTED & set(fields):
        names = ", ".join(sorted(validation.camel(f) for f in HOST_EXECUTED & set(fields)))
        raise Forbidden(f"Only an operator may change commands the host executes ({names}).")
    values = await _settings_values(workspace, fields)
    workspace.update_from_dict(values)
    # Only the settings asked for: the row may have changed since it was read (a
    # checkout notes when it used the workspace, a close sets its status), and
    # writing every column back would undo that.
    if values:
        await workspace.save(update_fields=list(values))
    await workspace.refresh_from_db()
    announce(workspace)
    return workspace


async def reset_runtime(principal: Principal, workspace_id: UUID | str) -> ExecutionWorkspace:
    require_operator(principal, "reset a workspace's runtime config")
    workspace = await get_workspace(workspace_id)
    workspace.runtime_override = None
    await workspace.save(update_fields=["runtime_override"])
    announce(workspace)
    return workspace


def announce(workspace: ExecutionWorkspace) -> None:
    bus.publish(workspaces_topic(workspace.project_id), workspace)  # type: ignore[attr-defined]


async def _settings_values(workspace: ExecutionWorkspace, fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in fields:
        values["name"] = validation.text("name", fields["name"] or "", 200, required=True)
    if fields.get("branch_name"):
        values["branch_name"] = validation.branch_name("branchName", fields["branch_name"])
    if fields.get("base_ref"):
        values["base_ref"] = validation.git_ref("baseRef", fields["base_ref"])
    for key in ("provider_ref", "repo_url", *LIFECYCLE_COMMANDS):
        if key in fields:
            values[key] = validation.text(validation.camel(key), fields[key] or "", 10_000)
    if "cwd" in fields:
        values["cwd"] = await _cwd(workspace, fields["cwd"] or "")
    if "runtime_override" in fields:
        values["runtime_override"] = runtime_config.parse(
            fields["runtime_override"], "runtimeOverride"
        )
    return values


async def _cwd(workspace: ExecutionWorkspace, value: str) -> str:
    """Empty, or a path inside the workspace's root (its environment or checkout)."""
    if not value:
        return ""
    if workspace.mode == WorkspaceMode.ISOLATED:
        environment = await workspace.environment
        return validation.path_inside("cwd", value, environment.root_dir or "/")
    project_workspace = await workspace.project_workspace
    root = project_workspace.cwd or workspace.cwd
    return (
        validation.path_inside("cwd", value, root)
        if root
        else validation.absolute_path("cwd", value)
    )
