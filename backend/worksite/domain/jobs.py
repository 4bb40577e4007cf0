"""Jobs: one-shot commands of a workspace; each run is an operation with an exit code.

A job runs under its own supervisor like a service, so its exit code is recorded
even when the server restarts meanwhile: whoever sees the end first records it,
the request that waits for it or the monitor, which follows every job.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from uuid import UUID

from worksite.domain import commands, monitor, operations, port_leases
from worksite.domain.auth import Principal
from worksite.domain.environments import workspace_host
from worksite.domain.errors import Conflict
from worksite.models import ExecutionWorkspace, Operation
from worksite.models.enums import OperationCategory, OperationStatus
from worksite.providers.host import WorkspaceHost, wait_ended
from worksite.providers.ssh import SshError
from worksite.runtime.processes import SupervisorError, SupervisorState
from worksite.settings import Settings

log = logging.getLogger(__name__)

# Seconds between SIGTERM and SIGKILL when a job is stopped (the workspace closes).
GRACE = 10.0
# How long a request may wait for a job; the job itself has no time limit.
WAIT_LIMIT = 24 * 3600.0
STOP_PATIENCE = 30.0
# Below this much free space, a vanished supervisor most likely ran out of disk.
LOW_DISK_BYTES = 1024 * 1024


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
    host = await workspace_host(settings, workspace)
    cwd = await commands.working_directory(host, workspace, command)
    port = None
    if command.port is not None:
        port = await port_leases.lease(host, workspace, name, command.port, settings.service_ports)
    env = await commands.environment(host, workspace, command, port, principal)

    operation = await operations.begin(
        workspace, OperationCategory.RUNTIME, "job", command.command, service_name=name
    )
    try:
        state = await host.spawn_supervised(
            host.run_dir(operation.log_path),
            ["/bin/sh", "-c", command.command],
            cwd,
            env,
            GRACE,
        )
    except (SupervisorError, TimeoutError, SshError) as error:
        await operations.finish_once(
            settings,
            operation,
            None,
            succeeded=False,
            note=f"could not start on {host.label}: {error}",
        )
        return operation
    log.info(
        "job %s of %s started on %s (pid %s)",
        name,
        workspace.name,
        host.label,
        state.child_pid,
    )

    monitor.follow(operation.id)
    if wait or state.ended:
        await _await_end(settings, host, operation)
    await operation.refresh_from_db()
    return operation


async def record_end(
    settings: Settings, operation: Operation, state: SupervisorState | None
) -> bool:
    """Finish a job's operation from its supervisor's final state (None: gone)."""
    if state is None:
        note = "its supervisor is gone without recording how it ended (interrupted)"
        free = _free_bytes(settings.logs_dir)
        if free is not None and free < LOW_DISK_BYTES:
            note += f"; the disk of the server's logs has {free} bytes free"
        return await operations.finish_once(settings, operation, None, succeeded=False, note=note)
    exit_code = operations.exit_code_of(state)
    return await operations.finish_once(settings, operation, exit_code, exit_code == 0)


async def stop_running(settings: Settings, workspace: ExecutionWorkspace) -> None:
    """Stop every job running in the workspace and record how each ended."""
    running = await Operation.filter(
        workspace_id=workspace.id, phase="job", status=OperationStatus.RUNNING
    )
    host = await workspace_host(settings, workspace)
    await asyncio.gather(*(_stop(settings, host, operation) for operation in running))


async def _stop(settings: Settings, host: WorkspaceHost, operation: Operation) -> None:
    try:
        state = await host.read_state(host.run_dir(operation.log_path))
        if state is not None:
            await host.request_stop(state)
    except SshError as error:
        raise Conflict(
            f"Cannot stop job {operation.service_name} on {host.label}: {error}"
        ) from None
    await _await_end(settings, host, operation, GRACE + STOP_PATIENCE)


async def _await_end(
    settings: Settings,
    host: WorkspaceHost,
    operation: Operation,
    timeout: float = WAIT_LIMIT,
) -> None:
    """Wait for the end and record it; the monitor records it if this gives up."""
    try:
        state: SupervisorState | None = await wait_ended(
            host,
            host.run_dir(operation.log_path),
            timeout,
            copy_to=operations.log_dir(settings, operation),
            patience=operations.LINK_PATIENCE,
        )
    except SupervisorError:
        state = None
    except (TimeoutError, SshError):
        return  # still running, or out of reach for now
    await record_end(settings, operation, state)


def _free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None
