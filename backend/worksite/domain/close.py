"""Close: save the work, stop services, cleanup, teardown, remove the worktree.

Nothing is lost: before any destructive step, uncommitted changes and the
branch's commits are saved under refs/worksite/archive/<workspace id>. Each step
is an operation of category cleanup; a failed step leaves the workspace
CLEANUP_FAILED with the step and the reason, and a retry resumes after the steps
already done. Project primary workspaces never lose their checkout: closing them
archives the record only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from worksite.domain import operations, services
from worksite.domain.auth import Principal, require_operator
from worksite.domain.environments import workspace_host
from worksite.domain.errors import Conflict, WorksiteError
from worksite.domain.workspaces import announce, effective_command, get_workspace
from worksite.models import (
    ExecutionWorkspace,
    Issue,
    IssueWorkspaceLink,
    ProjectWorkspace,
    RuntimeService,
)
from worksite.models.enums import (
    IssueStatus,
    OperationCategory,
    OperationStatus,
    ServiceStatus,
    WorkspaceMode,
    WorkspaceStatus,
)
from worksite.providers import git
from worksite.providers.host import WorkspaceHost
from worksite.providers.local import LocalHost
from worksite.providers.ssh import SshError
from worksite.settings import Settings

log = logging.getLogger(__name__)

FINISHED_ISSUES = (IssueStatus.DONE, IssueStatus.CANCELLED)
ARCHIVE_REF = "refs/worksite/archive/{id}"


@dataclass
class CloseReadiness:
    state: str  # "ready", "ready with warnings" or "blocked"
    reasons: list[str] = field(default_factory=list)  # what blocks (force overrides)
    warnings: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    worktree: git.WorktreeState | None = None
    # Why the worktree could not be looked at (its host is unreachable); even a
    # forced close stops there, since nothing may be removed before it is saved.
    unreachable: str | None = None


async def readiness(settings: Settings, workspace: ExecutionWorkspace) -> CloseReadiness:
    """What closing this workspace would do, and what stands in the way."""
    reasons: list[str] = []
    warnings: list[str] = []
    open_issues = await _open_issues(workspace)
    if open_issues:
        names = ", ".join(f"{i.identifier} ({i.status.value})" for i in open_issues)
        if workspace.mode == WorkspaceMode.ISOLATED:
            reasons.append(f"Linked issues are still open: {names}.")
        else:
            warnings.append(f"Linked issues are still open and share this workspace: {names}.")
    running = await running_services(workspace)
    if running:
        warnings.append(f"Services are running and will be stopped: {', '.join(running)}.")
    unreachable = None
    try:
        state = await _worktree_state(settings, workspace)
    except SshError as exc:
        state, unreachable = None, f"Cannot look at the worktree: {exc}"
        reasons.append(unreachable)
    if state is not None:
        unsaved = _unsaved_work(workspace, state)
        # After a first attempt saved the work, a retry does not ask for force again.
        (warnings if workspace.saved_work_ref else reasons).extend(unsaved)
        warnings.extend(drift(workspace, state))
        if state.behind:
            warnings.append(f"The branch is {state.behind} commits behind {workspace.base_ref}.")
    project_workspace = await ProjectWorkspace.get(id=workspace.project_workspace_id)  # type: ignore[attr-defined]
    steps = (["stop services"] if running else []) + _planned_steps(workspace, project_workspace)
    verdict = "blocked" if reasons else "ready with warnings" if warnings else "ready"
    return CloseReadiness(verdict, reasons, warnings, steps, state, unreachable)


async def close_workspace(
    settings: Settings, principal: Principal, workspace_id: UUID | str, force: bool
) -> ExecutionWorkspace:
    require_operator(principal, "close workspaces")
    workspace = await get_workspace(workspace_id)
    if workspace.status == WorkspaceStatus.ARCHIVED:
        raise Conflict(f"Workspace {workspace.name} is already archived.")
    if workspace.status == WorkspaceStatus.CLOSING:
        raise Conflict(f"Workspace {workspace.name} is already closing.")
    verdict = await readiness(settings, workspace)
    if verdict.unreachable is not None:
        return await _failed(workspace, "save work", verdict.unreachable)
    if verdict.reasons and not force:
        raise Conflict(
            f"Closing {workspace.name} is blocked; close with force to save the work "
            "under a ref and close anyway.",
            verdict.reasons,
        )
    workspace.status = WorkspaceStatus.CLOSING
    await workspace.save(update_fields=["status"])
    announce(workspace)
    return await _run_steps(settings, workspace, verdict)


async def _run_steps(
    settings: Settings, workspace: ExecutionWorkspace, verdict: CloseReadiness
) -> ExecutionWorkspace:
    project_workspace = await ProjectWorkspace.get(id=workspace.project_workspace_id)  # type: ignore[attr-defined]
    # Nothing of the runtime may run while the workspace is taken apart.
    try:
        await services.stop_all_services(settings, workspace)
    except WorksiteError as exc:
        return await _failed(workspace, "stop services", exc.message)
    done: list[str] = list(workspace.close_steps_done or [])
    # Saving runs on every attempt: the worktree may have changed since the last.
    for step in ["save work", *verdict.steps]:
        if step in done or step == "stop services":
            continue
        failure = await _step(settings, workspace, project_workspace, step, verdict)
        if failure is not None:
            return await _failed(workspace, step, failure)
        if step != "save work":
            done.append(step)
        workspace.close_steps_done = done
        await workspace.save(update_fields=["close_steps_done", "saved_work_ref"])
    workspace.status = WorkspaceStatus.ARCHIVED
    workspace.closed_at = datetime.now(UTC)
    workspace.cleanup_reason = None
    await workspace.save(update_fields=["status", "closed_at", "cleanup_reason"])
    log.info("workspace %s archived", workspace.name)
    announce(workspace)
    return workspace


async def _step(
    settings: Settings,
    workspace: ExecutionWorkspace,
    project_workspace: ProjectWorkspace,
    step: str,
    verdict: CloseReadiness,
) -> str | None:
    """Do one step; the reason it failed, or None."""
    if step == "save work":
        return await _save_work(settings, workspace, verdict.worktree)
    if step in ("cleanup command", "teardown command"):
        name = "cleanup_command" if step == "cleanup command" else "teardown_command"
        return await _run_lifecycle(settings, workspace, project_workspace, name)
    repo, host = workspace.provider_ref, await workspace_host(settings, workspace)

    async def action() -> str:
        if step == "remove worktree":
            return await host.remove_worktree(repo, workspace.cwd)
        return await host.delete_branch_if_merged(repo, workspace.branch_name, workspace.base_ref)

    try:
        await operations.record_step(
            settings,
            workspace,
            category=OperationCategory.CLEANUP,
            phase=step.replace(" ", "_"),
            command=step,
            step=action,
        )
    except Exception as exc:  # the operation holds the details
        return f"{exc}".strip() or type(exc).__name__
    return None


async def _save_work(
    settings: Settings, workspace: ExecutionWorkspace, state: git.WorktreeState | None
) -> str | None:
    if state is None or not (state.dirty or state.ahead) or not state.branch_exists:
        return None
    ref = ARCHIVE_REF.format(id=workspace.id)
    repo, path = workspace.provider_ref, workspace.cwd
    host = await workspace_host(settings, workspace)

    async def save() -> str:
        return f"{ref} -> " + await host.save_work(repo, path, workspace.branch_name, ref)

    try:
        await operations.record_step(
            settings,
            workspace,
            category=OperationCategory.CLEANUP,
            phase="save_work",
            command=f"save uncommitted and unmerged work under {ref}",
            step=save,
        )
    except Exception as exc:
        return f"could not save the work: {exc}"
    workspace.saved_work_ref = ref
    return None


async def _run_lifecycle(
    settings: Settings,
    workspace: ExecutionWorkspace,
    project_workspace: ProjectWorkspace,
    name: str,
) -> str | None:
    command = effective_command(workspace, project_workspace, name)
    if not command.strip():
        return None
    host = await workspace_host(settings, workspace)
    try:
        # Once the worktree is gone (a retried close), the command runs in the root.
        in_worktree = bool(workspace.cwd) and await host.is_dir(workspace.cwd)
        base = await host.base_env()
    except SshError as exc:
        return str(exc)
    source_issue_id = workspace.source_issue_id  # type: ignore[attr-defined]
    issue = await Issue.get_or_none(id=source_issue_id) if source_issue_id else None
    operation = await operations.run_command(
        settings,
        workspace,
        host=host,
        category=OperationCategory.CLEANUP,
        phase=name.removesuffix("_command"),
        command=command,
        cwd=workspace.cwd if in_worktree else _fallback_cwd(settings, host),
        env=operations.command_env(workspace, issue.identifier if issue else None, {}, base),
    )
    if operation.status == OperationStatus.SUCCEEDED:
        return None
    if operation.status == OperationStatus.RUNNING:
        return f"lost the connection to {host.label} while it ran; it may still be running"
    detail = operation.stderr_excerpt.strip().splitlines()[-1:] or [""]
    return f"exit code {operation.exit_code}: {detail[0]}".rstrip(": ")


def _fallback_cwd(settings: Settings, host: WorkspaceHost) -> str:
    return str(settings.data_dir) if isinstance(host, LocalHost) else host.root


async def _failed(workspace: ExecutionWorkspace, step: str, reason: str) -> ExecutionWorkspace:
    workspace.status = WorkspaceStatus.CLEANUP_FAILED
    workspace.cleanup_reason = f"{step} failed: {reason}"
    await workspace.save(
        update_fields=["status", "cleanup_reason", "close_steps_done", "saved_work_ref"]
    )
    log.warning("closing %s failed at %s: %s", workspace.name, step, reason)
    announce(workspace)
    return workspace


async def running_services(workspace: ExecutionWorkspace) -> list[str]:
    """Names of the workspace's services that are up or on their way up or down."""
    rows = await RuntimeService.filter(
        workspace_id=workspace.id,
        status__in=[ServiceStatus.STARTING, ServiceStatus.RUNNING, ServiceStatus.STOPPING],
    ).order_by("name")
    return [row.name for row in rows]


async def _open_issues(workspace: ExecutionWorkspace) -> list[Issue]:
    links = await IssueWorkspaceLink.filter(workspace_id=workspace.id).prefetch_related("issue")
    return [link.issue for link in links if link.issue.status not in FINISHED_ISSUES]


async def _worktree_state(
    settings: Settings, workspace: ExecutionWorkspace
) -> git.WorktreeState | None:
    if workspace.mode != WorkspaceMode.ISOLATED or not workspace.provider_ref:
        return None
    host = await workspace_host(settings, workspace)
    return await host.worktree_state(
        workspace.provider_ref, workspace.cwd, workspace.branch_name, workspace.base_ref
    )


def _unsaved_work(workspace: ExecutionWorkspace, state: git.WorktreeState) -> list[str]:
    reasons = []
    if state.dirty:
        reasons.append(
            f"Uncommitted work: {state.modified} modified and {state.untracked} untracked files."
        )
    if state.ahead:
        reasons.append(
            f"{state.ahead} commits on {workspace.branch_name} are not merged into {workspace.base_ref}."
        )
    return reasons


async def current_drift(settings: Settings, workspace: ExecutionWorkspace) -> list[str]:
    if workspace.status == WorkspaceStatus.ARCHIVED:
        return []
    try:
        state = await _worktree_state(settings, workspace)
    except SshError as exc:
        return [f"Cannot look at the worktree: {exc}"]
    return drift(workspace, state) if state is not None else []


def drift(workspace: ExecutionWorkspace, state: git.WorktreeState) -> list[str]:
    """How the worktree differs from what Worksite recorded, in words."""
    found = []
    if not state.exists:
        found.append(f"The worktree directory {workspace.cwd} is missing.")
    if not state.branch_exists:
        found.append(f"The branch {workspace.branch_name} no longer exists.")
    elif state.exists and state.branch != workspace.branch_name:
        found.append(
            f"The worktree is on {state.branch or 'a detached HEAD'}, not {workspace.branch_name}."
        )
    return found


def _planned_steps(workspace: ExecutionWorkspace, project_workspace: ProjectWorkspace) -> list[str]:
    steps = []
    for name in ("cleanup_command", "teardown_command"):
        if effective_command(workspace, project_workspace, name).strip():
            steps.append(name.replace("_", " "))
    if workspace.mode == WorkspaceMode.ISOLATED and workspace.provider_ref:
        steps.append("remove worktree")
        if workspace.created_branch:
            steps.append("delete branch")
    return steps


async def recover_interrupted() -> int:
    """Workspaces left CLOSING by a stopped server become CLEANUP_FAILED, for retry."""
    count = await ExecutionWorkspace.filter(status=WorkspaceStatus.CLOSING).update(
        status=WorkspaceStatus.CLEANUP_FAILED,
        cleanup_reason="close interrupted: the server stopped during close; retry close",
    )
    if count:
        log.warning("%d workspaces were closing when the server stopped", count)
    return count
