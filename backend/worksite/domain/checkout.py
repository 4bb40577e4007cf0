"""Checkout: resolve where an issue's work happens, provision it, record the run.

isolated         a new git worktree on a new branch (from the parent's branch
                 when the parent works in an isolated workspace, else the base ref)
reuse            the workspace of the inherit-from issue, else of the parent
project_primary  the project's primary checkout, no worktree
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from uuid import UUID
from weakref import WeakValueDictionary

from worksite.domain import cleanup, issues, operations
from worksite.domain.auth import Principal, require_issue_access, require_operator
from worksite.domain.environments import host_for, workspace_host
from worksite.domain.errors import Conflict, InvalidInput, ProvisionFailed
from worksite.domain.issues import get_issue
from worksite.domain.lookup import find
from worksite.domain.validation import branch_slug
from worksite.domain.workspaces import announce, effective_command, get_workspace
from worksite.events import bus, runs_topic
from worksite.models import (
    Agent,
    Environment,
    ExecutionWorkspace,
    Issue,
    IssueWorkspaceLink,
    Operation,
    Project,
    ProjectWorkspace,
    Run,
)
from worksite.models.enums import (
    IssueStatus,
    OperationCategory,
    OperationStatus,
    ProviderType,
    RunStatus,
    WorkspaceMode,
    WorkspaceStatus,
)
from worksite.providers import git
from worksite.providers.host import WorkspaceHost
from worksite.providers.ssh import SshError
from worksite.settings import Settings

log = logging.getLogger(__name__)

CLOSED = (WorkspaceStatus.ARCHIVED, WorkspaceStatus.CLOSING, WorkspaceStatus.CLEANUP_FAILED)
# One checkout per issue at a time, so two calls never make two workspaces. A lock
# lives only while someone holds or waits for it.
_issue_locks: WeakValueDictionary[UUID, asyncio.Lock] = WeakValueDictionary()


async def checkout_issue(settings: Settings, principal: Principal, issue_id: UUID | str) -> Run:
    issue = await get_issue(issue_id)
    require_issue_access(principal, issue)
    agent = await _run_agent(principal, issue)
    async with _issue_locks.setdefault(issue.id, asyncio.Lock()):
        await issue.refresh_from_db()
        workspace = await resolve_workspace(settings, issue)
        await ensure_provisioned(settings, workspace, issue)
        run = await Run.create(issue=issue, agent=agent, workspace=workspace)
    if issue.status in (IssueStatus.BACKLOG, IssueStatus.TODO):
        issue.status = IssueStatus.IN_PROGRESS
        await issue.save(update_fields=["status", "updated_at"])
        issues.announce(issue)
    bus.publish(runs_topic(issue.project_id), run)  # type: ignore[attr-defined]
    return run


async def finish_run(principal: Principal, run_id: UUID | str, status: RunStatus) -> Run:
    run = await find(Run, "run", "runId", run_id)
    await run.fetch_related("issue")
    require_issue_access(principal, run.issue)
    if status == RunStatus.RUNNING:
        raise InvalidInput("status", "expected SUCCEEDED, FAILED or CANCELLED")
    if run.status != RunStatus.RUNNING:
        raise Conflict(f"Run {run.id} already ended as {run.status.value}.")
    run.status = status
    run.finished_at = datetime.now(UTC)
    await run.save(update_fields=["status", "finished_at"])
    if run.workspace_id is not None:  # type: ignore[attr-defined]
        await cleanup.refresh([run.workspace_id])  # type: ignore[attr-defined]
    bus.publish(runs_topic(run.issue.project_id), run)  # type: ignore[attr-defined]
    return run


async def resolve_workspace(settings: Settings, issue: Issue) -> ExecutionWorkspace:
    """The workspace this issue works in, created if it needs a new one."""
    current = await _current_workspace(settings, issue)
    if current is not None:
        workspace = current
    else:
        project = await Project.get(id=issue.project_id)  # type: ignore[attr-defined]
        mode = issue.workspace_mode or project.default_workspace_mode
        if mode == WorkspaceMode.REUSE:
            workspace = await _shared_workspace(issue)
        elif mode == WorkspaceMode.PROJECT_PRIMARY:
            workspace = await _primary_workspace(settings, project, issue)
        else:
            workspace = await _isolated_workspace(settings, project, issue)
    await _link(issue, workspace)
    return workspace


async def derive_workspace(
    settings: Settings, principal: Principal, workspace_id: UUID | str
) -> ExecutionWorkspace:
    """A new isolated workspace branched from this one's branch."""
    require_operator(principal, "derive workspaces")
    origin = await get_workspace(workspace_id)
    if origin.status in CLOSED or not origin.branch_name:
        raise Conflict(
            f"Workspace {origin.name} is {origin.status.value} or has no branch to derive from."
        )
    project = await Project.get(id=origin.project_id)  # type: ignore[attr-defined]
    project_workspace = await ProjectWorkspace.get(id=origin.project_workspace_id)  # type: ignore[attr-defined]
    workspace = await _new_worktree(
        settings,
        project,
        project_workspace,
        None,
        wanted_branch=f"{origin.branch_name}-derived",
        start=origin.branch_name,
        derived_from=origin,
    )
    await ensure_provisioned(settings, workspace, None)
    return workspace


async def ensure_provisioned(
    settings: Settings, workspace: ExecutionWorkspace, issue: Issue | None
) -> None:
    """Run the provision command once; a failure leaves the worktree for inspection."""
    if workspace.provisioned:
        return
    project_workspace = await ProjectWorkspace.get(id=workspace.project_workspace_id)  # type: ignore[attr-defined]
    command = effective_command(workspace, project_workspace, "provision_command")
    if command.strip():
        host = await workspace_host(settings, workspace)
        try:
            if not workspace.cwd or not await host.is_dir(workspace.cwd):
                raise Conflict(
                    f"Workspace {workspace.name} has no working directory to provision in."
                )
            base = await host.base_env()
        except SshError as exc:
            raise Conflict(f"Cannot provision {workspace.name}: {exc}") from None
        operation = await operations.run_command(
            settings,
            workspace,
            host=host,
            category=OperationCategory.PROVISION,
            phase="provision",
            command=command,
            cwd=workspace.cwd,
            env=operations.command_env(workspace, issue.identifier if issue else None, {}, base),
        )
        if operation.status != OperationStatus.SUCCEEDED:
            workspace.status = WorkspaceStatus.ACTIVE
            await workspace.save(update_fields=["status"])
            raise ProvisionFailed(_provision_failure(workspace, operation, host), operation)
    workspace.provisioned = True
    workspace.status = WorkspaceStatus.ACTIVE
    await workspace.save(update_fields=["provisioned", "status"])
    announce(workspace)


def _provision_failure(
    workspace: ExecutionWorkspace, operation: Operation, host: WorkspaceHost
) -> str:
    if operation.status == OperationStatus.RUNNING:
        return (
            f"Lost the connection to {host.label} while the provision command of "
            f"{workspace.name} ran; it may still be running there. Check the issue out "
            "again once the host is back."
        )
    return (
        f"The provision command of {workspace.name} failed with exit code "
        f"{operation.exit_code}: {operation.stderr_excerpt[-500:]}"
    )


async def _current_workspace(settings: Settings, issue: Issue) -> ExecutionWorkspace | None:
    if issue.execution_workspace_id is None:  # type: ignore[attr-defined]
        return None
    workspace = await ExecutionWorkspace.get(id=issue.execution_workspace_id)  # type: ignore[attr-defined]
    if workspace.status in CLOSED:
        raise Conflict(
            f"Issue {issue.identifier} works in {workspace.name}, which is "
            f"{workspace.status.value}; move the issue to another workspace first."
        )
    if workspace.mode == WorkspaceMode.ISOLATED:
        await _restore_missing_worktree(settings, workspace)
    workspace.last_used_at = datetime.now(UTC)
    await workspace.save(update_fields=["last_used_at"])
    return workspace


async def _restore_missing_worktree(settings: Settings, workspace: ExecutionWorkspace) -> None:
    """Check the branch out again when someone removed the worktree directory."""
    path, repo = workspace.cwd, workspace.provider_ref
    host = await workspace_host(settings, workspace)
    try:
        if not workspace.provider_ref or await host.is_dir(path):
            return
        if not await host.branch_exists(repo, workspace.branch_name):
            raise Conflict(
                f"The worktree {path} and its branch {workspace.branch_name} are both "
                "gone; close this workspace and check the issue out again."
            )
        await operations.record_step(
            settings,
            workspace,
            category=OperationCategory.PROVISION,
            phase="worktree_restore",
            command=f"git worktree add {path} {workspace.branch_name}",
            step=lambda: host.restore_worktree(repo, path, workspace.branch_name),
        )
    except (git.GitError, SshError) as exc:
        raise Conflict(f"Cannot restore the worktree of {workspace.name}: {exc}") from None
    log.warning("restored the missing worktree of %s from its branch", workspace.name)


async def _shared_workspace(issue: Issue) -> ExecutionWorkspace:
    for field, source_id in (
        ("inheritExecutionWorkspaceFromIssueId", issue.inherit_workspace_from_id),  # type: ignore[attr-defined]
        ("parentId", issue.parent_id),  # type: ignore[attr-defined]
    ):
        if source_id is None:
            continue
        source = await Issue.get(id=source_id)
        if source.execution_workspace_id is None:  # type: ignore[attr-defined]
            raise Conflict(
                f"{issue.identifier} reuses the workspace of {source.identifier} "
                f"({field}), which has none yet; check {source.identifier} out first."
            )
        workspace = await ExecutionWorkspace.get(id=source.execution_workspace_id)  # type: ignore[attr-defined]
        if workspace.status in CLOSED:
            raise Conflict(
                f"{issue.identifier} reuses the workspace of {source.identifier}, "
                f"{workspace.name}, which is {workspace.status.value}."
            )
        workspace.last_used_at = datetime.now(UTC)
        await workspace.save(update_fields=["last_used_at"])
        return workspace
    raise InvalidInput(
        "workspaceMode",
        "reuse needs inheritExecutionWorkspaceFromIssueId or parentId on the issue",
    )


async def _primary_workspace(
    settings: Settings, project: Project, issue: Issue
) -> ExecutionWorkspace:
    project_workspace = await _primary_project_workspace(project)
    existing = await ExecutionWorkspace.filter(
        project_workspace=project_workspace,
        mode=WorkspaceMode.PROJECT_PRIMARY,
        status__not_in=[s.value for s in CLOSED],
    ).first()
    if existing is not None:
        existing.last_used_at = datetime.now(UTC)
        await existing.save(update_fields=["last_used_at"])
        return existing
    environment = await Environment.get(id=project_workspace.environment_id)  # type: ignore[attr-defined]
    branch = ""
    if project_workspace.cwd:
        try:
            host = host_for(settings, environment)
            branch = await host.current_branch(project_workspace.cwd) or ""
        except SshError as exc:
            raise Conflict(f"Cannot open the primary checkout of {project.key}: {exc}") from None
    return await ExecutionWorkspace.create(
        project=project,
        project_workspace=project_workspace,
        environment=environment,
        name=f"{project.key} primary",
        mode=WorkspaceMode.PROJECT_PRIMARY,
        provider_type=ProviderType.LOCAL_FS,
        status=WorkspaceStatus.ACTIVE,
        cwd=project_workspace.cwd,
        provider_ref=project_workspace.cwd,
        repo_url=project_workspace.repo_url,
        base_ref=project_workspace.base_ref,
        source_issue=issue,
        branch_name=branch,
    )


async def _isolated_workspace(
    settings: Settings, project: Project, issue: Issue
) -> ExecutionWorkspace:
    project_workspace = await _primary_project_workspace(project)
    parent_workspace = await _parent_isolated_workspace(issue)
    start = parent_workspace.branch_name if parent_workspace else project_workspace.base_ref
    return await _new_worktree(
        settings,
        project,
        project_workspace,
        issue,
        wanted_branch=branch_slug(issue.identifier, issue.title),
        start=start,
        derived_from=parent_workspace,
    )


async def _new_worktree(
    settings: Settings,
    project: Project,
    project_workspace: ProjectWorkspace,
    issue: Issue | None,
    *,
    wanted_branch: str,
    start: str,
    derived_from: ExecutionWorkspace | None,
) -> ExecutionWorkspace:
    started = time.monotonic()
    environment = await Environment.get(id=project_workspace.environment_id)  # type: ignore[attr-defined]
    try:
        host = host_for(settings, environment)
        repo = await host.repository(project_workspace.repo_url, project_workspace.cwd)
        commit = await host.resolve_commit(repo, start)
        branch = await host.free_branch(repo, wanted_branch)
        path = await host.free_worktree_path(project.key, branch)
    except (git.GitError, SshError) as exc:
        raise Conflict(f"Cannot make a worktree for {project.key}: {exc}") from None
    workspace = await ExecutionWorkspace.create(
        project=project,
        project_workspace=project_workspace,
        environment=environment,
        name=branch,
        mode=WorkspaceMode.ISOLATED,
        provider_type=ProviderType.GIT_WORKTREE,
        status=WorkspaceStatus.PROVISIONING,
        branch_name=branch,
        cwd=str(path),
        provider_ref=str(repo),
        repo_url=project_workspace.repo_url,
        base_ref=start or "HEAD",
        source_issue=issue,
        derived_from=derived_from,
        created_branch=True,
    )
    try:
        await operations.record_step(
            settings,
            workspace,
            category=OperationCategory.PROVISION,
            phase="worktree_create",
            command=f"git worktree add -b {branch} {path} {start or 'HEAD'}",
            step=lambda: host.add_worktree(repo, path, branch, commit),
        )
    except (git.GitError, SshError) as exc:
        # Nothing was made on disk: drop the record rather than list a husk.
        await workspace.delete()
        raise Conflict(f"Cannot make a worktree for {project.key}: {exc}") from None
    log.info("workspace %s created on %s in %.2f s", branch, host.label, time.monotonic() - started)
    announce(workspace)
    return workspace


async def _primary_project_workspace(project: Project) -> ProjectWorkspace:
    project_workspace = await ProjectWorkspace.filter(project=project, is_primary=True).first()
    if project_workspace is None:
        raise Conflict(f"Project {project.key} has no project workspace yet; create one first.")
    return project_workspace


async def _parent_isolated_workspace(issue: Issue) -> ExecutionWorkspace | None:
    if issue.parent_id is None:  # type: ignore[attr-defined]
        return None
    parent = await Issue.get(id=issue.parent_id)  # type: ignore[attr-defined]
    if parent.execution_workspace_id is None:  # type: ignore[attr-defined]
        return None
    workspace = await ExecutionWorkspace.get(id=parent.execution_workspace_id)  # type: ignore[attr-defined]
    if workspace.mode != WorkspaceMode.ISOLATED or workspace.status in CLOSED:
        return None
    return workspace


async def _link(issue: Issue, workspace: ExecutionWorkspace) -> None:
    await IssueWorkspaceLink.get_or_create(issue=issue, workspace=workspace)
    if issue.execution_workspace_id != workspace.id:  # type: ignore[attr-defined]
        issue.execution_workspace = workspace
        await issue.save(update_fields=["execution_workspace_id", "updated_at"])
        issues.announce(issue)


async def _run_agent(principal: Principal, issue: Issue) -> Agent:
    if principal.agent_id is not None:
        return await Agent.get(id=principal.agent_id)
    if issue.assignee_id is None:  # type: ignore[attr-defined]
        raise InvalidInput("issueId", f"{issue.identifier} has no assignee; a run needs an agent")
    return await Agent.get(id=issue.assignee_id)  # type: ignore[attr-defined]


async def recover_interrupted() -> int:
    """Workspaces left PROVISIONING by a stopped server become ACTIVE, unprovisioned.

    The next checkout of their issue provisions them again, and puts the worktree
    back from its branch if the server stopped before making it.
    """
    count = await ExecutionWorkspace.filter(status=WorkspaceStatus.PROVISIONING).update(
        status=WorkspaceStatus.ACTIVE, provisioned=False
    )
    if count:
        log.warning(
            "%d workspaces were provisioning when the server stopped; the next "
            "checkout provisions them",
            count,
        )
    return count
