"""Jobs: one-shot commands of a workspace; each run is an operation with an exit code.

A job runs under its own supervisor like a service, so its exit code is recorded
even when the server restarts meanwhile: whoever sees the end first records it,
the request that waits for it or the monitor, which follows every job.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from worksite.domain import commands, monitor, operations, port_leases
from worksite.domain.auth import Principal
from worksite.models import ExecutionWorkspace, Operation
from worksite.models.enums import OperationCategory, OperationStatus
from worksite.runtime import logs
from worksite.runtime.processes import (
    SupervisorError,
    SupervisorState,
    read_state,
    request_stop,
    spawn_supervised_async,
    wait_ended,
)
from worksite.settings import Settings

log = logging.getLogger(__name__)

# Seconds between SIGTERM and SIGKILL when a job is stopped (the workspace closes).
GRACE = 10.0
# How long a request may wait for a job; the job itself has no time limit.
WAIT_LIMIT = 24 * 3600.0
STOP_PATIENCE = 30.0


async def run(
    settings: Settings,
    principal: Principal,
    workspace_id: UUID | str,
    name: str,
    wait: bool = False,
) -> Operation:
    """Start a job; with wait, return once it has ended (its exit code recorded)."""
    workspace = await commands.runnable_workspace(principal, workspace_id, "run jobs")
    command = await commands.find(workspace, name, "job")
    cwd = commands.working_directory(workspace, command)
    port = None
    if command.port is not None:
        port = await port_leases.lease(
            workspace, name, command.port, settings.service_ports
        )
    env = await commands.environment(workspace, command, port, principal)

    operation = await operations.begin(
        workspace, OperationCategory.RUNTIME, "job", command.command, service_name=name
    )
    directory = operations.log_dir(settings, operation)
    try:
        state = await spawn_supervised_async(
            directory, ["/bin/sh", "-c", command.command], cwd, env, grace=GRACE
        )
    except (SupervisorError, TimeoutError) as error:
        logs.append_note(directory, f"worksite: could not start: {error}")
        await operations.finish_once(settings, operation, None, succeeded=False)
        return operation
    log.info("job %s of %s started (pid %s)", name, workspace.name, state.child_pid)

    monitor.follow(operation.id)
    if wait or state.ended:
        await _await_end(settings, operation)
    await operation.refresh_from_db()
    return operation


async def record_end(
    settings: Settings, operation: Operation, state: SupervisorState | None
) -> bool:
    """Finish a job's operation from its supervisor's final state (None: gone)."""
    if state is None:
        note = "its supervisor is gone without recording how it ended (interrupted)"
        logs.append_note(operations.log_dir(settings, operation), f"worksite: {note}")
        return await operations.finish_once(settings, operation, None, succeeded=False)
    exit_code = operations.exit_code_of(state)
    return await operations.finish_once(settings, operation, exit_code, exit_code == 0)


async def stop_running(settings: Settings, workspace: ExecutionWorkspace) -> None:
    """Stop every job running in the workspace and record how each ended."""
    running = await Operation.filter(
        workspace_id=workspace.id, phase="job", status=OperationStatus.RUNNING
    )
    await asyncio.gather(*(_stop(settings, operation) for operation in running))


async def _stop(settings: Settings, operation: Operation) -> None:
    directory = operations.log_dir(settings, operation)
    state = read_state(directory)
    if state is not None:
        request_stop(state)
    await _await_end(settings, operation, GRACE + STOP_PATIENCE)


async def _await_end(
    settings: Settings, operation: Operation, timeout: float = WAIT_LIMIT
) -> None:
    directory = operations.log_dir(settings, operation)
    try:
        state: SupervisorState | None = await wait_ended(directory, timeout)
    except SupervisorError:
        state = None
    except TimeoutError:
        return  # still running; the monitor records the end
    await record_end(settings, operation, state)
