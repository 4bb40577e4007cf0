"""Changes of a service's state once it has started: ready, healthy or not, ended.

Both the monitor and the request that stops a service see these happen, so each
change is a conditional update of the row (it names the run, by its start operation,
and the status it expects) and is recorded once: whoever comes second changes
nothing. Every change is published on `service-status:<workspace id>`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from worksite.domain import operations
from worksite.events import bus, services_topic
from worksite.models import ExecutionWorkspace, Operation, RuntimeService
from worksite.models.enums import OperationStatus, ServiceHealth, ServiceStatus
from worksite.runtime.processes import SupervisorState
from worksite.settings import Settings

log = logging.getLogger(__name__)

LIVE = (ServiceStatus.STARTING, ServiceStatus.RUNNING, ServiceStatus.STOPPING)
GONE = "its supervisor is gone without recording how it ended (interrupted)"


def announce(service: RuntimeService) -> None:
    bus.publish(services_topic(service.workspace_id), service)  # type: ignore[attr-defined]


async def label(service: RuntimeService) -> str:
    """ "web of PAP-12-fix-login", for log lines."""
    names = await ExecutionWorkspace.filter(id=service.workspace_id).values_list(  # type: ignore[attr-defined]
        "name", flat=True
    )
    return f"{service.name} of {names[0] if names else service.workspace_id}"  # type: ignore[attr-defined]


def now() -> datetime:
    return datetime.now(UTC)


async def mark_ready(
    service: RuntimeService, health: ServiceHealth = ServiceHealth.HEALTHY
) -> bool:
    """STARTING -> RUNNING: the readiness check answered, or the service has none."""
    changed = await _change(
        service,
        ServiceStatus.STARTING,
        status=ServiceStatus.RUNNING,
        health=health,
        ready_at=now(),
    )
    if changed:
        waited = (service.ready_at - service.started_at).total_seconds()  # type: ignore[operator]
        log.info("service %s is ready after %.2f s", await label(service), waited)
    return changed


async def mark_not_ready(service: RuntimeService, reason: str) -> bool:
    """STARTING -> STOPPING with the reason; the caller then stops it, and it FAILS."""
    return await _change(
        service, ServiceStatus.STARTING, status=ServiceStatus.STOPPING, failure_reason=reason
    )


async def mark_health(service: RuntimeService, health: ServiceHealth) -> bool:
    return await _change(service, ServiceStatus.RUNNING, health=health)


async def record_end(
    settings: Settings,
    service: RuntimeService,
    state: SupervisorState | None,
    reason: str | None = None,
) -> RuntimeService:
    """Record how the run ended: state as the supervisor wrote it, None if it is gone.

    reason, when given, is why the run failed (it could not be started, say).
    """
    for _ in range(3):  # the status may move under us (a stop, a readiness verdict)
        await service.refresh_from_db()
        if service.status not in LIVE:
            return service  # recorded already
        status, failure, exit_code = outcome(service, state, reason)
        # Worksite's own verdicts go into the log too; the process's are there already.
        note = reason or service.failure_reason or (GONE if state is None else None)
        # The operation first: whoever sees the service ended finds it finished.
        await _finish_run(settings, service, status, exit_code, note)
        if await _change(
            service,
            service.status,
            status=status,
            failure_reason=failure,
            exit_code=exit_code,
            health=ServiceHealth.UNKNOWN,
            stopped_at=now(),
        ):
            break
    else:
        return service

    log.info(
        "service %s ended %s: %s",
        await label(service),
        status.value,
        failure or f"exit code {exit_code}",
    )
    return service


def outcome(
    service: RuntimeService, state: SupervisorState | None, reason: str | None
) -> tuple[ServiceStatus, str | None, int | None]:
    """The final status, failure reason and exit code of a run that has ended."""
    code = operations.exit_code_of(state) if state is not None else None
    failure = reason or service.failure_reason
    if failure:
        return ServiceStatus.FAILED, failure, code
    if service.status == ServiceStatus.STOPPING:
        return ServiceStatus.STOPPED, None, code
    if state is None:
        return ServiceStatus.FAILED, GONE, None
    if state.child_pid is None:
        return ServiceStatus.FAILED, state.error or "it could not be started", code

    if state.signal is not None:
        what = f"it was killed by signal {state.signal}"
    else:
        what = f"it exited with code {state.exit_code}"
    if service.status == ServiceStatus.STARTING:
        return ServiceStatus.FAILED, f"{what} before it was ready", code
    if code == 0:
        return ServiceStatus.STOPPED, None, code
    return ServiceStatus.FAILED, what, code


async def _finish_run(
    settings: Settings,
    service: RuntimeService,
    status: ServiceStatus,
    exit_code: int | None,
    note: str | None,
) -> None:
    """Finish the run's start operation: its status follows the service's."""
    if service.start_operation_id is None:  # type: ignore[attr-defined]
        return
    operation = await Operation.get(id=service.start_operation_id)  # type: ignore[attr-defined]
    if operation.status != OperationStatus.RUNNING:
        return
    await operations.finish_once(
        settings,
        operation,
        exit_code,
        succeeded=status == ServiceStatus.STOPPED,
        note=note or None,
    )


async def _change(service: RuntimeService, expected: ServiceStatus, **values: object) -> bool:
    """Update the row if it is still this run in the expected status; announce it."""
    values["updated_at"] = now()
    changed = await RuntimeService.filter(
        id=service.id,
        status=expected,
        start_operation_id=service.start_operation_id,  # type: ignore[attr-defined]
    ).update(**values)
    if not changed:
        return False
    service.update_from_dict(values)
    announce(service)
    return True
