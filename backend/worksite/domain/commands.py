"""Workspace commands at run time: which one, in which directory, with what environment.

Shared by services and jobs. A command runs in the workspace's directory, or in its
own `cwd` inside it; symlinks are resolved when it starts, so a directory that
points outside the workspace is refused, and the command is given the resolved
path. Its environment is built from nothing: a few harmless variables of the
server's (operations.PASSED_THROUGH), the command's `env`, `PORT` when it has one,
and the WORKSITE_* variables naming its workspace, branch and issue. The server's
own secrets (its token, its database URL) are never among them.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from worksite.domain import operations, runtime_config
from worksite.domain.auth import Principal, require_workspace_access
from worksite.domain.errors import Conflict, InvalidInput, NotFound
from worksite.domain.workspaces import effective_runtime, get_workspace
from worksite.models import Environment, ExecutionWorkspace, Issue, ProjectWorkspace
from worksite.models.enums import EnvironmentKind, WorkspaceStatus

CLOSED = (WorkspaceStatus.ARCHIVED, WorkspaceStatus.CLOSING)
WorkspaceCommand = runtime_config.WorkspaceCommand


async def runnable_workspace(
    principal: Principal, workspace_id: UUID | str, action: str
) -> ExecutionWorkspace:
    """The workspace, if the caller may run commands there and it can run them."""
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    if workspace.status in CLOSED:
        raise Conflict(
            f"Workspace {workspace.name} is {workspace.status.value}; cannot {action}."
        )
    environment = await Environment.get(id=workspace.environment_id)  # type: ignore[attr-defined]
    if environment.kind != EnvironmentKind.LOCAL:
        raise Conflict(
            f"Workspace {workspace.name} is on {environment.kind.value} environment "
            f"{environment.name}; services and jobs run on the local sandbox only."
        )
    if not workspace.cwd:
        raise Conflict(f"Workspace {workspace.name} has no working directory; cannot {action}.")
    return workspace


async def commands_of(workspace: ExecutionWorkspace, kind: str) -> list[WorkspaceCommand]:
    """The commands of one kind in the workspace's effective runtime config."""
    return [command for command in await _effective(workspace) if command.kind == kind]


async def find(workspace: ExecutionWorkspace, name: str, kind: str) -> WorkspaceCommand:
    for command in await _effective(workspace):
        if command.name == name:
            if command.kind != kind:
                raise InvalidInput(
                    "name", f"expected a {kind}, but {name!r} is a {command.kind}"
                )
            return command
    error = NotFound(kind, name)
    error.message = f"No {kind} named {name!r} in the runtime config of {workspace.name}."
    raise error


async def _effective(workspace: ExecutionWorkspace) -> list[WorkspaceCommand]:
    project_workspace = await ProjectWorkspace.get(id=workspace.project_workspace_id)  # type: ignore[attr-defined]
    config, _ = effective_runtime(workspace, project_workspace)
    return runtime_config.commands_of(config)


def working_directory(workspace: ExecutionWorkspace, command: WorkspaceCommand) -> Path:
    """The real directory the command runs in; refused when it leaves the workspace."""
    try:
        root = Path(workspace.cwd).resolve(strict=True)
    except OSError:
        raise Conflict(
            f"The working directory of {workspace.name}, {workspace.cwd}, does not exist."
        ) from None
    if not root.is_dir():
        raise Conflict(f"The working directory of {workspace.name} is not a directory.")
    if not command.cwd:
        return root

    wanted = root / command.cwd
    try:
        resolved = wanted.resolve(strict=True)
    except OSError:
        raise Conflict(
            f"{command.name}: its cwd {command.cwd!r} does not exist in {root}."
        ) from None
    if not resolved.is_relative_to(root):
        raise Conflict(
            f"{command.name}: its cwd {command.cwd!r} resolves to {resolved}, outside "
            f"the workspace {root}; a command never runs outside its workspace."
        )
    if not resolved.is_dir():
        raise Conflict(f"{command.name}: its cwd {command.cwd!r} is not a directory.")
    return resolved


async def environment(
    workspace: ExecutionWorkspace,
    command: WorkspaceCommand,
    port: int | None,
    principal: Principal | None,
) -> dict[str, str]:
    identifier = await _issue_identifier(workspace, principal)
    env = operations.command_env(workspace, identifier, dict(command.env))
    if port is not None:
        env["PORT"] = str(port)  # the leased one; the command's own env cannot move it
    env["WORKSITE_COMMAND"] = command.name
    return env


async def _issue_identifier(
    workspace: ExecutionWorkspace, principal: Principal | None
) -> str | None:
    """The issue the command serves: the calling agent's, else the workspace's own."""
    issues = Issue.filter(execution_workspace_id=workspace.id)
    if principal is not None and principal.agent_id is not None:
        mine = await issues.filter(assignee_id=principal.agent_id).order_by("-updated_at").first()
        if mine is not None:
            return mine.identifier
    if workspace.source_issue_id is not None:  # type: ignore[attr-defined]
        source = await Issue.get_or_none(id=workspace.source_issue_id)  # type: ignore[attr-defined]
        if source is not None:
            return source.identifier
    latest = await issues.order_by("-updated_at").first()
    return latest.identifier if latest else None
