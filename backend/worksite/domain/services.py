"""Runtime services: start, stop and restart the service commands of a workspace.

A service has one row per (workspace, command name). A start claims the row with a
conditional update (stopped or failed -> starting), so of any number of concurrent
starts exactly one goes ahead and the others get a conflict. The claimed start
leases a port, records its operation and launches the command under a supervisor;
that operation stays running while the service lives, and its log is the service's
output. From then on the monitor (domain/monitor.py) follows the service: readiness,
health, and how it ends. A stop asks the supervisor to end the whole tree (SIGTERM, a
grace period, SIGKILL) and waits for the end.

    stopped, failed --start--> starting --ready--> running
    starting, running --stop--> stopping --ended--> stopped
    starting, running --exited, or not ready in time--> failed
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from tortoise.exceptions import IntegrityError

from worksite.domain import commands, jobs, monitor, operations, port_leases
from worksite.domain.auth import Principal, require_workspace_access
from worksite.domain.commands import WorkspaceCommand
from worksite.domain.environments import workspace_host
from worksite.domain.errors import Conflict, WorksiteError
from worksite.domain.service_state import (
    LIVE,
    announce,
    label,
    mark_ready,
    now,
    record_end,
)
from worksite.domain.workspaces import get_workspace
from worksite.events import bus
from worksite.models import ExecutionWorkspace, Operation, RuntimeService
from worksite.models.enums import OperationCategory, ServiceHealth, ServiceStatus
from worksite.providers.host import WorkspaceHost, wait_ended
from worksite.providers.ssh import SshError
from worksite.runtime import logs
from worksite.runtime.processes import SupervisorError
from worksite.settings import Settings

log = logging.getLogger(__name__)

# Seconds between SIGTERM and SIGKILL when a service is stopped.
GRACE = 10.0
# Beyond the grace: the supervisor's own patience with processes that survive SIGKILL.
STOP_PATIENCE = 30.0
# How long `wait` waits beyond the readiness timeout for the monitor's verdict.
SETTLE_MARGIN = 30.0
SETTLE_POLL = 0.25
WAIT_POLL = 0.05

T = TypeVar("T")
R = TypeVar("R")


async def start(
    settings: Settings,
    principal: Principal,
    workspace_id: UUID | str,
    name: str | None,
    wait: bool = False,
) -> list[RuntimeService]:
    """Start one service, or every service that is not running when name is None."""
    workspace = await commands.runnable_workspace(principal, workspace_id, "start services")
    if name is not None:
        targets = [await commands.find(workspace, name, "service")]
    else:
        live = await _live_names(workspace)
        targets = [
            command
            for command in await commands.commands_of(workspace, "service")
            if command.name not in live
        ]
    started = await _each(
        "start",
        targets,
        lambda command: _start(settings, workspace, command, "start", principal),
    )
    return [await _settled(service) for service in started] if wait else started


async def stop(
    settings: Settings, principal: Principal, workspace_id: UUID | str, name: str | None
) -> list[RuntimeService]:
    """Stop one service, or every live one when name is None; returns once they ended."""
    workspace = await get_workspace(workspace_id)
    await require_workspace_access(principal, workspace.id)
    if name is None:
        targets = await RuntimeService.filter(workspace_id=workspace.id, status__in=LIVE).order_by(
            "name"
        )
    else:
        service = await RuntimeService.get_or_none(workspace_id=workspace.id, name=name)
        if service is None:
            await commands.find(workspace, name, "service")  # NotFound if unknown
            raise Conflict(f"Service {name} of {workspace.name} is not running; it never started.")
        targets = [service]
    return await _each("stop", targets, lambda service: _stop(settings, workspace, service))


async def restart(
    settings: Settings,
    principal: Principal,
    workspace_id: UUID | str,
    name: str | None,
    wait: bool = False,
) -> list[RuntimeService]:
    """Stop (if live) and start one service, or every service when name is None."""
    workspace = await commands.runnable_workspace(principal, workspace_id, "restart services")
    if name is not None:
        targets = [await commands.find(workspace, name, "service")]
    else:
        targets = await commands.commands_of(workspace, "service")
    restarted = await _each(
        "restart",
        targets,
        lambda command: _restart(settings, workspace, command, principal),
    )
    return [await _settled(service) for service in restarted] if wait else restarted


async def stop_all_services(
    settings: Settings, workspace: ExecutionWorkspace
) -> list[RuntimeService]:
    """End everything the runtime runs in a workspace, and release its ports.

    For the close flow, before cleanup and teardown run: every service is stopped
    (also one that is still starting or already stopping), every running job is
    stopped, and the workspace's port leases end. Raises Conflict if something
    would not end.
    """
    deadline = time.monotonic() + GRACE + STOP_PATIENCE + SETTLE_MARGIN
    while live := await RuntimeService.filter(workspace_id=workspace.id, status__in=LIVE):
        stoppable = [
            service
            for service in live
            if service.status != ServiceStatus.STOPPING and service.supervisor_pid is not None
        ]
        # A conflict here is a race with another action; the next look settles it.
        await _each("stop", stoppable, lambda s: _stop(settings, workspace, s), strict=False)
        if time.monotonic() > deadline:
            names = ", ".join(service.name for service in live)
            raise Conflict(f"Services of {workspace.name} did not stop: {names}.")
        if not stoppable:
            await asyncio.sleep(WAIT_POLL)

    await jobs.stop_running(settings, workspace)
    await port_leases.release_all(workspace)
    return await RuntimeService.filter(workspace_id=workspace.id).order_by("name")


def run_dir(settings: Settings, operation: Operation) -> Path:
    """The supervisor's directory of a run: its logs and state.json."""
    return operations.log_dir(settings, operation)


# Start


async def _start(
    settings: Settings,
    workspace: ExecutionWorkspace,
    command: WorkspaceCommand,
    phase: str,
    principal: Principal | None,
) -> RuntimeService:
    host = await workspace_host(settings, workspace)
    cwd = await commands.working_directory(host, workspace, command)
    service = await _claim(workspace, command, cwd)
    try:
        return await _launch(settings, host, workspace, service, command, phase, cwd, principal)
    except BaseException as error:
        if isinstance(error, WorksiteError):
            reason = error.message
        else:
            reason = f"the start was interrupted: {error!r}"
        await asyncio.shield(_give_up(settings, host, service, reason))
        raise


async def _claim(
    workspace: ExecutionWorkspace, command: WorkspaceCommand, cwd: str
) -> RuntimeService:
    """Move the service to STARTING, unless it is live: then a conflict says why."""
    service = await _row(workspace, command.name)
    claimed = await RuntimeService.filter(
        id=service.id, status__in=(ServiceStatus.STOPPED, ServiceStatus.FAILED)
    ).update(
        status=ServiceStatus.STARTING,
        health=ServiceHealth.UNKNOWN,
        command=command.command,
        cwd=str(cwd),
        readiness=None,
        url=None,
        pid=None,
        supervisor_pid=None,
        supervisor_start_ticks=None,
        start_operation_id=None,
        started_at=now(),
        ready_at=None,
        stopped_at=None,
        exit_code=None,
        failure_reason=None,
        updated_at=now(),
    )
    await service.refresh_from_db()
    if not claimed:
        raise Conflict(_busy(workspace, service))
    announce(service)
    return service


async def _row(workspace: ExecutionWorkspace, name: str) -> RuntimeService:
    service = await RuntimeService.get_or_none(workspace_id=workspace.id, name=name)
    if service is not None:
        return service
    try:
        return await RuntimeService.create(workspace=workspace, name=name)
    except IntegrityError:  # created by a concurrent start
        return await RuntimeService.get(workspace_id=workspace.id, name=name)


async def _launch(
    settings: Settings,
    host: WorkspaceHost,
    workspace: ExecutionWorkspace,
    service: RuntimeService,
    command: WorkspaceCommand,
    phase: str,
    cwd: str,
    principal: Principal | None,
) -> RuntimeService:
    port = None
    if command.port is not None:
        port = await port_leases.lease(
            host, workspace, command.name, command.port, settings.service_ports
        )
    env = await commands.environment(host, workspace, command, port, principal)
    operation = await operations.begin(
        workspace,
        OperationCategory.RUNTIME,
        phase,
        command.command,
        service_name=command.name,
    )
    service.start_operation = operation
    service.port = port
    service.url = f"http://{host.address}:{port}" if port is not None else None
    service.readiness = _probe_spec(command, port, env)
    await service.save(
        update_fields=["start_operation_id", "port", "url", "readiness", "updated_at"]
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
        return await record_end(settings, service, None, reason=f"could not start: {error}")

    # The monitor may have seen this run already (state.json exists), even judged it
    # ready or ended: record the process whatever its status, move it on only if not.
    this_run = {"id": service.id, "start_operation_id": operation.id}
    await RuntimeService.filter(**this_run).update(
        pid=state.child_pid,
        supervisor_pid=state.supervisor_pid,
        supervisor_start_ticks=state.supervisor_start_ticks,
        updated_at=now(),
    )
    await service.refresh_from_db()
    if service.readiness is None:
        await mark_ready(service, ServiceHealth.UNKNOWN)  # it runs: that is all we know
    log.info(
        "service %s started (pid %s%s)",
        await label(service),
        state.child_pid,
        f", port {port}" if port is not None else "",
    )
    announce(service)
    monitor.wake()
    if state.ended:  # it could not be started at all
        return await record_end(settings, service, state)
    return service


def _probe_spec(
    command: WorkspaceCommand, port: int | None, env: dict[str, str]
) -> dict[str, Any] | None:
    """The readiness check of this run, with $PORT filled in, as the monitor needs it."""
    readiness = command.readiness
    if readiness is None:
        return None
    target = readiness.target
    if readiness.kind == "tcp" and target == "auto":
        if port is None:
            raise Conflict(f'{command.name}: readiness "tcp": "auto" needs "port" too.')
        target = str(port)
    elif readiness.kind == "http" and port is not None:
        target = target.replace("${PORT}", str(port)).replace("$PORT", str(port))
    spec: dict[str, Any] = {
        "kind": readiness.kind,
        "target": target,
        "timeoutSeconds": readiness.timeout_seconds,
    }
    if readiness.kind == "command":
        spec["env"] = env
    return spec


async def _give_up(
    settings: Settings, host: WorkspaceHost, service: RuntimeService, reason: str
) -> None:
    """A claimed start that did not get its command running: FAILED, with why."""
    values = {
        "status": ServiceStatus.FAILED,
        "failure_reason": reason,
        "stopped_at": now(),
        "updated_at": now(),
    }
    # Until its supervisor is recorded, a STARTING row is this start's alone; after
    # that, ends are record_end's to write.
    changed = await RuntimeService.filter(
        id=service.id, status=ServiceStatus.STARTING, supervisor_pid__isnull=True
    ).update(**values)
    if not changed:
        return
    await service.refresh_from_db()
    announce(service)
    if service.start_operation_id is None:  # type: ignore[attr-defined]
        return
    operation = await Operation.get(id=service.start_operation_id)  # type: ignore[attr-defined]
    try:
        state = await host.read_state(host.run_dir(operation.log_path))
        if state is not None and await host.is_alive(state):
            # Launched, but not recorded: nothing may run unfollowed.
            await host.request_stop(state)
    except SshError as error:
        log.warning("service %s: could not check on its start: %s", service.name, error)
    await operations.finish_once(settings, operation, None, succeeded=False, note=reason)


async def _settled(service: RuntimeService) -> RuntimeService:
    """The service once the monitor has judged its readiness (or after a deadline):
    RUNNING, or FAILED after being stopped for not getting ready."""
    timeout = float((service.readiness or {}).get("timeoutSeconds", 0)) + SETTLE_MARGIN
    deadline = time.monotonic() + GRACE + STOP_PATIENCE + timeout
    unsettled = (ServiceStatus.STARTING, ServiceStatus.STOPPING)
    # Woken by the service's announcements; the row stays the truth.
    async with bus.subscribe(f"service-status:{service.workspace_id}") as changes:  # type: ignore[attr-defined]
        await service.refresh_from_db()
        while service.status in unsettled and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changes.get(), SETTLE_POLL)
            await service.refresh_from_db()
    return service


# Stop and restart


async def _stop(
    settings: Settings, workspace: ExecutionWorkspace, service: RuntimeService
) -> RuntimeService:
    claimed = await RuntimeService.filter(
        id=service.id,
        status__in=(ServiceStatus.STARTING, ServiceStatus.RUNNING),
        supervisor_pid__isnull=False,
    ).update(status=ServiceStatus.STOPPING, updated_at=now())
    await service.refresh_from_db()
    if not claimed:
        raise Conflict(_not_stoppable(workspace, service))
    announce(service)

    operation = await operations.begin(
        workspace,
        OperationCategory.RUNTIME,
        "stop",
        f"stop {service.name} (pid {service.pid})",
        service_name=service.name,
    )
    started = time.monotonic()
    start_operation = await Operation.get(id=service.start_operation_id)  # type: ignore[attr-defined]
    host = await workspace_host(settings, workspace)
    directory = host.run_dir(start_operation.log_path)
    try:
        state = await host.read_state(directory)
        if state is not None:
            await host.request_stop(state)
    except SshError as error:
        return await _unreachable(settings, service, operation, error)
    try:
        ended = await wait_ended(
            host,
            directory,
            GRACE + STOP_PATIENCE,
            copy_to=run_dir(settings, start_operation),
            patience=operations.LINK_PATIENCE,
        )
    except SupervisorError:
        ended = None
    except (TimeoutError, SshError) as error:
        message = f"{service.name} was asked to stop, but its end was not seen: {error}"
        logs.write_record(run_dir(settings, operation), stderr=message + "\n")
        await operations.finish_once(settings, operation, None, succeeded=False)
        return service

    service = await record_end(settings, service, ended)
    logs.write_record(
        run_dir(settings, operation),
        stdout=f"SIGTERM sent to {service.name} (pid {service.pid}) and its process tree; "
        f"it ended after {time.monotonic() - started:.2f} s with exit code "
        f"{service.exit_code}.\n",
    )
    await operations.finish_once(settings, operation, None, succeeded=True)
    return service


async def _unreachable(
    settings: Settings, service: RuntimeService, operation: Operation, error: SshError
) -> RuntimeService:
    """A stop that could not reach the host: the service runs on, as it was."""
    await RuntimeService.filter(
        id=service.id,
        status=ServiceStatus.STOPPING,
        start_operation_id=service.start_operation_id,  # type: ignore[attr-defined]
    ).update(
        status=ServiceStatus.RUNNING if service.ready_at else ServiceStatus.STARTING,
        updated_at=now(),
    )
    await service.refresh_from_db()
    announce(service)
    message = f"Cannot stop {service.name}: {error} It keeps running."
    logs.write_record(run_dir(settings, operation), stderr=message + "\n")
    await operations.finish_once(settings, operation, None, succeeded=False)
    raise Conflict(message)


async def _restart(
    settings: Settings,
    workspace: ExecutionWorkspace,
    command: WorkspaceCommand,
    principal: Principal | None,
) -> RuntimeService:
    service = await RuntimeService.get_or_none(workspace_id=workspace.id, name=command.name)
    if service is not None and service.status in LIVE:
        await _stop(settings, workspace, service)
    return await _start(settings, workspace, command, "restart", principal)


# Helpers


async def _live_names(workspace: ExecutionWorkspace) -> set[str]:
    names = await RuntimeService.filter(workspace_id=workspace.id, status__in=LIVE).values_list(
        "name", flat=True
    )
    return set(names)  # type: ignore[arg-type]


async def _each(
    verb: str,
    items: Sequence[T],
    action: Callable[[T], Awaitable[R]],
    strict: bool = True,
) -> list[R]:
    """Run action on every item at once; domain errors are gathered into one Conflict."""
    results = await asyncio.gather(*(action(item) for item in items), return_exceptions=True)
    failures: list[WorksiteError] = []
    done: list[R] = []
    for result in results:
        if isinstance(result, WorksiteError):
            failures.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            done.append(result)
    if len(items) == 1 and failures and strict:
        raise failures[0]
    if failures and strict:
        raise Conflict(
            f"{len(failures)} of {len(items)} services could not {verb}.",
            reasons=[failure.message for failure in failures],
        )
    return done


def _busy(workspace: ExecutionWorkspace, service: RuntimeService) -> str:
    if service.status == ServiceStatus.RUNNING:
        return f"Service {service.name} of {workspace.name} is already running (pid {service.pid})."
    if service.status == ServiceStatus.STARTING:
        return f"A start of service {service.name} in {workspace.name} is already in progress."
    return (
        f"A stop of service {service.name} in {workspace.name} is already in progress; "
        "start it once it has stopped."
    )


def _not_stoppable(workspace: ExecutionWorkspace, service: RuntimeService) -> str:
    if service.status == ServiceStatus.STOPPING:
        return f"A stop of service {service.name} in {workspace.name} is already in progress."
    if service.status in (ServiceStatus.STARTING, ServiceStatus.RUNNING):  # not launched
        return (
            f"A start of service {service.name} in {workspace.name} is already in "
            "progress; stop it once it has started."
        )
    return f"Service {service.name} of {workspace.name} is not running ({service.status.value})."
