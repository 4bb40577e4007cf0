"""Workspace commands at run time: which one, in which directory, with what environment.

Shared by services and jobs. A command runs in the workspace's directory, or in its
own `cwd` inside it; symlinks are resolved on the workspace's host when it starts,
so a directory that points outside the workspace is refused, and the command is
given the resolved path. Its environment is built from nothing: a few harmless
variables of the host's (PASSED_THROUGH), the command's `env`, `PORT` when it has one,
and the WORKSITE_* variables naming its workspace, branch and issue. The server's
own secrets (its token, its database URL) are never among them.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from uuid import UUID

from worksite.domain import operations, runtime_config
from worksite.domain.auth import Principal, require_workspace_access
from worksite.domain.errors import Conflict, InvalidInput, NotFound
from worksite.domain.workspaces import effective_runtime, get_workspace
from worksite.models import ExecutionWorkspace, Issue, ProjectWorkspace
from worksite.models.enums import WorkspaceStatus
from worksite.providers.host import WorkspaceHost
from worksite.providers.ssh import SshError

CLOSED = (WorkspaceStatus.ARCHIVED, WorkspaceStatus.CLOSING)
WorkspaceCommand = runtime_config.WorkspaceCommand


async def runnable_workspace(
    principal: Principal, workspace_id: UUID | str, action: str
) -> ExecutionWorkspace:
    """The workspace, if the caller may run commands there and it can run them."""
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    if workspace.status in CLOSED:
        raise Conflict(f"Workspace {workspace.name} is {workspace.status.value}; cannot {action}.")
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
                raise InvalidInput("name", f"expected a {kind}, but {name!r} is a {command.kind}")
            return command
    error = NotFound(kind, name)
    error.message = f"No {kind} named {name!r} in the runtime config of {workspace.name}."
    raise error


async def _effective(workspace: ExecutionWorkspace) -> list[WorkspaceCommand]:
    project_workspace = await ProjectWorkspace.get(id=workspace.project_workspace_id)  # type: ignore[attr-defined]
    config, _ = effective_runtime(workspace, project_workspace)
    return runtime_config.commands_of(config)


async def working_directory(
    host: WorkspaceHost, workspace: ExecutionWorkspace, command: WorkspaceCommand
) -> str:
    """The real directory the command runs in; refused when it leaves the workspace."""
    try:
        root = await host.real_dir(workspace.cwd)
        wanted = await host.real_dir(f"{root}/{command.cwd}") if root and command.cwd else root
    except SshError as error:
        raise Conflict(f"Cannot reach the workspace {workspace.name}: {error}") from None
    if root is None:
        raise Conflict(
            f"The working directory of {workspace.name}, {workspace.cwd}, does not "
            f"exist on {host.label}."
        )
    if wanted is None:
        raise Conflict(
            f"{command.name}: its cwd {command.cwd!r} does not exist in {root} or is not "
            "a directory."
        )
    if not PurePosixPath(wanted).is_relative_to(root):
        raise Conflict(
            f"{command.name}: its cwd {command.cwd!r} resolves to {wanted}, outside "
            f"the workspace {root}; a command never runs outside its workspace."
        )
    return wanted


async def environment(
    host: WorkspaceHost,
    workspace: ExecutionWorkspace,
    command: WorkspaceCommand,
    port: int | None,
    principal: Principal | None,
) -> dict[str, str]:
    identifier = await _issue_identifier(workspace, principal)
    try:
        base = await host.base_env()
    except SshError as error:
        raise Conflict(f"Cannot reach the workspace {workspace.name}: {error}") from None
    env = operations.command_env(workspace, identifier, dict(command.env), base)
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
