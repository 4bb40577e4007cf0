"""Automatic cleanup: close finished, idle workspaces once a project's window passes.

A workspace is eligible when every linked issue is done or cancelled, nothing
runs in it, and it has been idle for the project's retention window. The sweep
closes eligible workspaces without force, so dirty or unmerged work is left
alone, with the reason recorded. State lives in the database, so a restarted
server picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from worksite.domain.auth import OPERATOR
from worksite.domain.close import FINISHED_ISSUES, close_workspace, running_services
from worksite.domain.errors import WorksiteError
from worksite.domain.workspaces import announce
from worksite.models import ExecutionWorkspace, IssueWorkspaceLink, Project, Run
from worksite.models.enums import RunStatus, WorkspaceMode, WorkspaceStatus
from worksite.settings import Settings

log = logging.getLogger(__name__)

SKIPPED = "Automatic cleanup skipped: "


async def schedule(workspace: ExecutionWorkspace, project: Project) -> datetime | None:
    """Record when the workspace becomes eligible (and why), or clear it."""
    eligible_at, reason = await _eligibility(workspace, project)
    if eligible_at is not None and (workspace.cleanup_reason or "").startswith(SKIPPED):
        reason = workspace.cleanup_reason  # keep saying why the last attempt stopped
    if (workspace.cleanup_eligible_at, workspace.cleanup_reason) != (eligible_at, reason):
        workspace.cleanup_eligible_at = eligible_at
        workspace.cleanup_reason = reason
        await workspace.save(update_fields=["cleanup_eligible_at", "cleanup_reason"])
        announce(workspace)
    return eligible_at


async def refresh(workspace_ids: list[UUID]) -> None:
    """Recompute the schedule of these workspaces (after issues or runs change)."""
    for workspace in await ExecutionWorkspace.filter(
        id__in=workspace_ids, status=WorkspaceStatus.ACTIVE
    ):
        await schedule(workspace, await Project.get(id=workspace.project_id))  # type: ignore[attr-defined]


async def sweep(settings: Settings, now: datetime | None = None) -> int:
    """Close every workspace whose time has come; returns how many were archived."""
    now = now or datetime.now(UTC)
    archived = 0
    projects = await Project.filter(cleanup_retention_seconds__not_isnull=True)
    for project in projects:
        candidates = await ExecutionWorkspace.filter(
            project=project, status=WorkspaceStatus.ACTIVE, mode=WorkspaceMode.ISOLATED
        )
        for workspace in candidates:
            eligible_at = await schedule(workspace, project)
            if eligible_at is not None and eligible_at <= now:
                archived += await _close(settings, workspace)
    return archived


async def run_forever(settings: Settings) -> None:
    """The background task of the server's lifespan."""
    while True:
        try:
            await sweep(settings)
        except Exception:
            log.exception("automatic cleanup sweep failed; trying again later")
        await asyncio.sleep(settings.cleanup_interval)


async def _close(settings: Settings, workspace: ExecutionWorkspace) -> int:
    try:
        closed = await close_workspace(settings, OPERATOR, workspace.id, force=False)
    except WorksiteError as exc:
        reasons = getattr(exc, "reasons", None) or [exc.message]
        workspace.cleanup_reason = SKIPPED + " ".join(reasons)
        await workspace.save(update_fields=["cleanup_reason"])
        announce(workspace)
        log.info("left %s alone: %s", workspace.name, workspace.cleanup_reason)
        return 0
    log.info("automatic cleanup closed %s: %s", workspace.name, closed.status.value)
    return 1 if closed.status == WorkspaceStatus.ARCHIVED else 0


async def _eligibility(
    workspace: ExecutionWorkspace, project: Project
) -> tuple[datetime | None, str | None]:
    window = project.cleanup_retention_seconds
    if window is None or workspace.status != WorkspaceStatus.ACTIVE:
        return None, None
    if workspace.mode != WorkspaceMode.ISOLATED:
        return None, None
    links = await IssueWorkspaceLink.filter(workspace_id=workspace.id).prefetch_related("issue")
    if any(link.issue.status not in FINISHED_ISSUES for link in links):
        return None, None
    runs = await Run.filter(workspace_id=workspace.id).order_by("-started_at")
    if any(run.status == RunStatus.RUNNING for run in runs):
        return None, None
    if await running_services(workspace):
        return None, None
    idle_since = max(
        [workspace.last_used_at, *(run.finished_at for run in runs if run.finished_at)]
    )
    reason = (
        f"Every linked issue is done or cancelled and nothing has run here since "
        f"{idle_since:%Y-%m-%d %H:%M:%S} UTC; the project closes workspaces idle for "
        f"{window} s."
    )
    return idle_since + timedelta(seconds=window), reason
