"""The service monitor: one task that follows everything the runtime runs.

It lives in the app's lifespan. At start-up it adopts what the previous server left:
live services are followed again (their supervisor is checked by pid and start time,
so a reused pid is never taken for it), and services, jobs and other operations
whose supervisor ended meanwhile are recorded with their exit status; those whose
supervisor is gone without a word are marked interrupted. Then, every POLL_INTERVAL
(or at once when woken), it reads the state file of each live service and followed
job, records ends, checks the readiness of starting services and, every
HEALTH_INTERVAL, the health of running ones. Cancelling it stops no service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from uuid import UUID

from worksite.domain import jobs, operations, service_state
from worksite.domain.service_state import LIVE, now
from worksite.models import Operation, RuntimeService
from worksite.models.enums import OperationStatus, ServiceHealth, ServiceStatus
from worksite.runtime import readiness
from worksite.runtime.processes import (
    SupervisorError,
    SupervisorState,
    is_alive,
    read_state,
    request_stop,
)
from worksite.settings import Settings

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
READY_POLL = 0.1
HEALTH_INTERVAL = 5.0
PROBE_TIMEOUT = 2.0

_active: Monitor | None = None


def wake() -> None:
    """Look at the services now rather than at the next poll (a service started)."""
    if _active is not None:
        _active.woken.set()


def follow(operation_id: UUID) -> None:
    """Record the end of this operation's supervised command when it comes."""
    if _active is not None:
        _active.followed.add(operation_id)


class Monitor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.followed: set[UUID] = set()
        self.woken = asyncio.Event()
        self.probes: dict[UUID, asyncio.Task[None]] = {}
        self.health_due: dict[UUID, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Adopt what a previous server left, then follow everything in the background."""
        global _active
        await self.adopt()
        self.task = asyncio.create_task(self._run(), name="service monitor")
        _active = self

    async def close(self) -> None:
        """Stop watching; every service keeps running."""
        global _active
        if _active is self:
            _active = None
        tasks = [task for task in (self.task, *self.probes.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def adopt(self) -> None:
        started = time.monotonic()
        services = await RuntimeService.filter(status__in=LIVE)
        own = {service.start_operation_id for service in services}  # type: ignore[attr-defined]
        leftovers = await Operation.filter(status=OperationStatus.RUNNING).values_list(
            "id", flat=True
        )
        self.followed.update(id for id in leftovers if id not in own)  # type: ignore[misc]

        left = len(self.followed)
        await self._check_services(services, adopting=True)
        await self._check_operations(adopting=True)
        still = await RuntimeService.filter(status__in=LIVE).count()
        log.info(
            "adopted %d live services (%d more had ended) and %d running operations "
            "(%d more had ended) in %.3f s",
            still, len(services) - still, len(self.followed), left - len(self.followed),
            time.monotonic() - started,
        )

    async def _run(self) -> None:
        while True:
            try:
                await self._check_services(await RuntimeService.filter(status__in=LIVE))
                await self._check_operations()
            except Exception:
                log.exception("the service monitor failed a round; it goes on")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), POLL_INTERVAL)
            self.woken.clear()

    # Services

    async def _check_services(
        self, services: list[RuntimeService], adopting: bool = False
    ) -> None:
        operations_by_id = await self._start_operations(services)
        live = {service.id for service in services}
        self.health_due = {k: v for k, v in self.health_due.items() if k in live}
        for service in services:
            operation = operations_by_id.get(service.start_operation_id)  # type: ignore[attr-defined]
            state = self._state(operation) if operation is not None else None
            if state is None:
                # Not launched yet: in a running server a start is under way; at
                # start-up, the server that claimed it died before launching it.
                if adopting:
                    await service_state.record_end(
                        self.settings, service, None,
                        reason="the server stopped before the service was launched",
                    )
                continue
            if state.ended or not is_alive(state):
                final = self._final_state(operation, state)  # type: ignore[arg-type]
                await service_state.record_end(self.settings, service, final)
            elif service.status == ServiceStatus.STARTING:
                self._probe(service, self._await_ready(service, state))
            elif service.status == ServiceStatus.RUNNING and service.readiness:
                if time.monotonic() >= self.health_due.get(service.id, 0.0):
                    self.health_due[service.id] = time.monotonic() + HEALTH_INTERVAL
                    self._probe(service, self._check_health(service))

    async def _start_operations(
        self, services: list[RuntimeService]
    ) -> dict[UUID, Operation]:
        ids = [s.start_operation_id for s in services if s.start_operation_id]  # type: ignore[attr-defined]
        return {row.id: row for row in await Operation.filter(id__in=ids)} if ids else {}

    def _probe(self, service: RuntimeService, work: object) -> None:
        """Run one probe task per service at a time."""
        assert asyncio.iscoroutine(work)
        if service.id in self.probes:
            work.close()
            return
        task = asyncio.create_task(work)
        self.probes[service.id] = task
        task.add_done_callback(lambda _: self.probes.pop(service.id, None))

    async def _await_ready(self, service: RuntimeService, state: SupervisorState) -> None:
        spec = service.readiness or {}
        probe = _probe_of(service)
        deadline = service.started_at.timestamp() + float(spec["timeoutSeconds"])  # type: ignore[union-attr]
        while True:
            remaining = deadline - now().timestamp()
            reason = await readiness.check(probe, max(0.1, min(PROBE_TIMEOUT, remaining)))
            if reason is None:
                await service_state.mark_ready(service)
                self.health_due[service.id] = time.monotonic() + HEALTH_INTERVAL
                return
            if now().timestamp() >= deadline:
                await self._give_up_on(service, state, spec, reason)
                return
            if not is_alive(state):
                return  # ended; the next round records how
            await asyncio.sleep(READY_POLL)

    async def _give_up_on(
        self,
        service: RuntimeService,
        state: SupervisorState,
        spec: dict[str, object],
        reason: str,
    ) -> None:
        verdict = f"not ready within {float(spec['timeoutSeconds']):g} s: {reason}"  # type: ignore[arg-type]
        if await service_state.mark_not_ready(service, verdict):
            log.warning("service %s: %s", await service_state.label(service), verdict)
            request_stop(state)

    async def _check_health(self, service: RuntimeService) -> None:
        reason = await readiness.check(_probe_of(service), PROBE_TIMEOUT)
        health = ServiceHealth.HEALTHY if reason is None else ServiceHealth.UNHEALTHY
        if health != service.health and await service_state.mark_health(service, health):
            name = await service_state.label(service)
            if reason is None:
                log.info("service %s is healthy again", name)
            else:
                log.warning("service %s is unhealthy: %s", name, reason)

    # Jobs and other operations

    async def _check_operations(self, adopting: bool = False) -> None:
        if not self.followed:
            return
        running = await Operation.filter(
            id__in=list(self.followed), status=OperationStatus.RUNNING
        )
        self.followed.intersection_update(operation.id for operation in running)
        for operation in running:
            state = self._state(operation)
            if state is None and not adopting:
                continue  # its command is being launched
            if state is None or state.ended or not is_alive(state):
                final = self._final_state(operation, state) if state is not None else None
                await jobs.record_end(self.settings, operation, final)
                self.followed.discard(operation.id)
                log.info(
                    "%s %s of workspace %s ended: exit code %s", operation.category.value,
                    operation.phase, operation.workspace_id, operation.exit_code,  # type: ignore[attr-defined]
                )

    def _final_state(
        self, operation: Operation, state: SupervisorState
    ) -> SupervisorState | None:
        """The state of a supervisor that ended or died: its final one, or None."""
        if state.ended:
            return state
        # It may have written the end just before exiting, after our read.
        again = self._state(operation)
        return again if again is not None and again.ended else None

    def _state(self, operation: Operation) -> SupervisorState | None:
        try:
            return read_state(operations.log_dir(self.settings, operation))
        except SupervisorError as error:
            log.warning("cannot follow operation %s: %s", operation.id, error)
            return None


def _probe_of(service: RuntimeService) -> readiness.Probe:
    spec = service.readiness or {}
    return readiness.Probe(
        kind=str(spec["kind"]), target=str(spec["target"]),
        cwd=Path(service.cwd or "/"), env=dict(spec.get("env") or {}),
    )
