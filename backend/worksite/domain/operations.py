"""Operations: one row per thing Worksite ran or did to a workspace.

Commands run under the supervisor (runtime/supervisor.py), so their output lands
in log files and their exit status is recorded even across a server restart.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from tortoise.expressions import Q

from worksite.domain import validation
from worksite.domain.errors import Conflict, InvalidInput
from worksite.domain.lookup import find
from worksite.events import bus, operations_topic
from worksite.models import ExecutionWorkspace, Operation
from worksite.models.enums import OperationCategory, OperationStatus
from worksite.providers.host import WorkspaceHost, wait_ended
from worksite.providers.local import PASSED_THROUGH
from worksite.providers.ssh import HostUnreachable, SshError
from worksite.runtime import logs
from worksite.runtime.processes import SupervisorError, SupervisorState
from worksite.settings import Settings

log = logging.getLogger(__name__)

JOB_TIMEOUT = 24 * 3600.0
# Seconds between SIGTERM and SIGKILL when a lifecycle command is stopped.
GRACE = 10.0
# How long a command may go unwatched because its host cannot be reached.
LINK_PATIENCE = 30.0
# Newest first; the id orders operations that started at the same moment.
NEWEST_FIRST = ("-started_at", "-id")


def log_dir(settings: Settings, operation: Operation) -> Path:
    """Where the operation's logs are; never outside the data directory's logs/."""
    root = settings.logs_dir.resolve()
    directory = (root / operation.log_path).resolve()
    if directory == root or not directory.is_relative_to(root):
        raise Conflict(
            f"The log directory of operation {operation.id}, {directory}, is outside {root}."
        )
    return directory


async def get_operation(operation_id: UUID | str) -> Operation:
    return await find(Operation, "operation", "operationId", operation_id)


async def older_than(
    workspace: ExecutionWorkspace, before: UUID | str, limit: int
) -> list[Operation]:
    """Up to `limit` operations of the workspace listed after `before`, newest first."""
    cursor = await Operation.get_or_none(
        id=validation.parse_id("before", before), workspace_id=workspace.id
    )
    if cursor is None:
        raise InvalidInput("before", f"expected an operation of {workspace.name}, got {before}")
    same_moment = Q(started_at=cursor.started_at, id__lt=cursor.id)
    older = Q(started_at__lt=cursor.started_at) | same_moment
    query = Operation.filter(older, workspace_id=workspace.id).order_by(*NEWEST_FIRST)
    return await query.limit(limit)


def command_env(
    workspace: ExecutionWorkspace,
    issue_identifier: str | None,
    extra: dict[str, str],
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """A command's whole environment: `base` (the host's own PATH, HOME...; by default
    this server's), then `extra`, then the workspace's WORKSITE_* variables."""
    if base is None:
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    else:
        env = dict(base)
    env.update(extra)
    env.update(
        WORKSITE_WORKSPACE_ID=str(workspace.id),
        WORKSITE_WORKSPACE_NAME=workspace.name,
        WORKSITE_WORKSPACE_CWD=workspace.cwd,
        WORKSITE_BRANCH=workspace.branch_name,
        WORKSITE_ISSUE=issue_identifier or "",
    )
    return env


async def begin(
    workspace: ExecutionWorkspace,
    category: OperationCategory,
    phase: str,
    command: str,
    service_name: str | None = None,
) -> Operation:
    operation = await Operation.create(
        workspace=workspace,
        category=category,
        phase=phase,
        command=command,
        service_name=service_name,
    )
    operation.log_path = f"{workspace.id}/{operation.id}"
    await operation.save(update_fields=["log_path"])
    _announce(operation)
    return operation


async def finish(
    settings: Settings, operation: Operation, exit_code: int | None, succeeded: bool
) -> Operation:
    directory = log_dir(settings, operation)
    operation.exit_code = exit_code
    operation.status = OperationStatus.SUCCEEDED if succeeded else OperationStatus.FAILED
    operation.finished_at = datetime.now(UTC)
    operation.stdout_excerpt = logs.excerpt(directory, "stdout")
    operation.stderr_excerpt = logs.excerpt(directory, "stderr")
    await operation.save(
        update_fields=["exit_code", "status", "finished_at", "stdout_excerpt", "stderr_excerpt"]
    )
    _announce(operation)
    return operation


async def finish_once(
    settings: Settings,
    operation: Operation,
    exit_code: int | None,
    succeeded: bool,
    note: str | None = None,
) -> bool:
    """finish(), unless the operation has finished already; True if this call did.

    A job's end can be seen by the request that waits for it and by the monitor at
    once; the first to record it wins and the other changes nothing. A note (why
    Worksite ended it) goes at the end of its stderr; when the disk refuses it, at the
    end of the stderr excerpt alone, so the reason is never lost.
    """
    directory = log_dir(settings, operation)
    stderr = logs.excerpt(directory, "stderr")
    if note is not None:
        line = f"worksite: {note}"
        if logs.append_note(directory, line):
            stderr = logs.excerpt(directory, "stderr")
        else:
            stderr = "\n".join(filter(None, [stderr, line]))
    values = {
        "exit_code": exit_code,
        "status": OperationStatus.SUCCEEDED if succeeded else OperationStatus.FAILED,
        "finished_at": datetime.now(UTC),
        "stdout_excerpt": logs.excerpt(directory, "stdout"),
        "stderr_excerpt": stderr,
    }
    updated = await Operation.filter(id=operation.id, status=OperationStatus.RUNNING).update(
        **values
    )
    if not updated:
        return False
    operation.update_from_dict(values)
    _announce(operation)
    return True


def exit_code_of(state: SupervisorState) -> int | None:
    """The exit code of an ended command, as a shell reports it (128 + signal)."""
    return state.exit_code if state.signal is None else 128 + state.signal


async def run_command(
    settings: Settings,
    workspace: ExecutionWorkspace,
    *,
    host: WorkspaceHost,
    category: OperationCategory,
    phase: str,
    command: str,
    cwd: str,
    env: dict[str, str],
) -> Operation:
    """Run `command` with sh in `cwd` on the host to its end, as one recorded operation.

    The operation stays RUNNING when the host could not be reached for LINK_PATIENCE
    seconds while the command ran: it may still be running there.
    """
    operation = await begin(workspace, category, phase, command)
    directory = log_dir(settings, operation)
    run_dir = host.run_dir(operation.log_path)
    started = time.monotonic()
    try:
        await host.spawn_supervised(run_dir, ["/bin/sh", "-c", command], cwd, env, GRACE)
    except (SupervisorError, SshError) as exc:
        logs.write_record(directory, stderr=f"worksite: could not start on {host.label}: {exc}\n")
        return await finish(settings, operation, None, succeeded=False)
    try:
        state = await wait_ended(
            host, run_dir, JOB_TIMEOUT, copy_to=directory, patience=LINK_PATIENCE
        )
    except HostUnreachable as exc:
        log.warning("%s %s in %s: %s", category.value, phase, workspace.name, exc)
        return operation
    except (SupervisorError, TimeoutError, SshError) as exc:
        logs.write_record(directory, stderr=f"worksite: {exc}\n")
        return await finish(settings, operation, None, succeeded=False)
    exit_code = exit_code_of(state)
    log.info(
        "%s %s in %s exited %s after %.1f s",
        category.value,
        phase,
        workspace.name,
        exit_code,
        time.monotonic() - started,
    )
    return await finish(settings, operation, exit_code, succeeded=exit_code == 0)


async def record_step(
    settings: Settings,
    workspace: ExecutionWorkspace,
    *,
    category: OperationCategory,
    phase: str,
    command: str,
    step: Callable[[], Awaitable[str]],
) -> Operation:
    """Do `step` as an operation; it returns its output.

    The step's exception, if any, is recorded as the failure and raised again.
    """
    operation = await begin(workspace, category, phase, command)
    directory = log_dir(settings, operation)
    try:
        output = await step()
    except Exception as exc:
        logs.write_record(directory, stderr=f"{exc}\n")
        await finish(settings, operation, 1, succeeded=False)
        raise
    logs.write_record(directory, stdout=output + ("\n" if output else ""))
    return await finish(settings, operation, 0, succeeded=True)


def _announce(operation: Operation) -> None:
    bus.publish(operations_topic(operation.workspace_id), operation)  # type: ignore[attr-defined]
