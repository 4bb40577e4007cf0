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
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

from worksite.domain import jobs, operations, service_state
from worksite.domain.service_state import LIVE, now
from worksite.models import Operation, RuntimeService
from worksite.models.enums import OperationStatus, ServiceHealth, ServiceStatus
from worksite.runtime import readiness
from worksite.runtime.processes import (
    STATE_FILE,
    SupervisorError,
    SupervisorState,
    is_alive,
    read_state,
    request_stop,
)
from worksite.settings import Settings

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
# Readiness is probed every READY_POLL at first, backing off to READY_POLL_MAX.
READY_POLL = 0.02
READY_POLL_MAX = 0.25
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


class Glance(NamedTuple):
    """What a round needs to know of a live service; the row is read only to act."""

    id: UUID
    status: ServiceStatus
    run: UUID | None  # its start operation
    checked: bool  # it has a readiness check


async def _glance() -> list[Glance]:
    rows = await RuntimeService.filter(status__in=LIVE).values_list(
        "id", "status", "start_operation_id", "readiness"
    )
    return [
        Glance(id, ServiceStatus(status), run, readiness is not None)
        for id, status, run, readiness in rows
    ]


async def _row(glance: Glance) -> RuntimeService:
    return await RuntimeService.get(id=glance.id)


class Runs:
    """The run directories of followed operations and their last-read state.

    A directory never changes, and the supervisor replaces state.json only twice
    (started, ended), so a round costs one stat per run once both are known.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directories: dict[UUID, Path] = {}
        self.states: dict[UUID, tuple[tuple[int, int], SupervisorState | None]] = {}

    async def learn(self, operation_ids: list[UUID]) -> None:
        """Look up the directories of operations not seen before."""
        unknown = [id for id in operation_ids if id not in self.directories]
        if unknown:
            for operation in await Operation.filter(id__in=unknown):
                self.directories[operation.id] = operations.log_dir(self.settings, operation)

    def state(self, operation_id: UUID | None) -> SupervisorState | None:
        """What the run's state.json says now; None before it exists."""
        directory = self.directories.get(operation_id) if operation_id else None
        if directory is None:
            return None
        try:
            stat = (directory / STATE_FILE).stat()
        except FileNotFoundError:
            return None
        version = (stat.st_ino, stat.st_mtime_ns)
        known = self.states.get(operation_id)  # type: ignore[arg-type]
        if known is not None and known[0] == version:
            return known[1]
        try:
            state = read_state(directory)
        except SupervisorError as error:
            log.warning("cannot follow operation %s: %s", operation_id, error)
            state = None
        self.states[operation_id] = (version, state)  # type: ignore[index]
        return state

    def final_state(self, operation_id: UUID, state: SupervisorState) -> SupervisorState | None:
        """The state of a supervisor that ended or died: its final one, or None."""
        if state.ended:
            return state
        # It may have written the end just before exiting, after our read.
        again = self.state(operation_id)
        return again if again is not None and again.ended else None

    def keep_only(self, operation_ids: set[UUID]) -> None:
        for table in (self.directories, self.states):
            for id in set(table) - operation_ids:
                del table[id]


class Monitor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs = Runs(settings)
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
        services = await _glance()
        own = {glance.run for glance in services}
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
                await self._check_services(await _glance())
                await self._check_operations()
            except Exception:
                log.exception("the service monitor failed a round; it goes on")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), POLL_INTERVAL)
            self.woken.clear()

    # Services

    async def _check_services(self, glances: list[Glance], adopting: bool = False) -> None:
        runs = [glance.run for glance in glances if glance.run is not None]
        await self.runs.learn(runs)
        self.runs.keep_only({*runs, *self.followed})
        live = {glance.id for glance in glances}
        self.health_due = {k: v for k, v in self.health_due.items() if k in live}
        for glance in glances:
            state = self.runs.state(glance.run)
            if state is None:
                # Not launched yet: in a running server a start is under way; at
                # start-up, the server that claimed it died before launching it.
                if adopting:
                    await service_state.record_end(
                        self.settings, await _row(glance), None,
                        reason="the server stopped before the service was launched",
                    )
                continue
            if state.ended or not is_alive(state):
                final = self.runs.final_state(glance.run, state)  # type: ignore[arg-type]
                await service_state.record_end(self.settings, await _row(glance), final)
            elif glance.status == ServiceStatus.STOPPING and adopting:
                # The last server may have died between deciding and signalling.
                request_stop(state)
            elif glance.status == ServiceStatus.STARTING and not glance.checked:
                # Launched, with nothing to wait for: its start may not have said so
                # yet (or died before it could).
                await service_state.mark_ready(await _row(glance), ServiceHealth.UNKNOWN)
            elif glance.id in self.probes:
                continue  # a readiness or health check is under way
            elif glance.status == ServiceStatus.STARTING:
                service = await _row(glance)
                self._probe(service, self._await_ready(service, state))
            elif glance.status == ServiceStatus.RUNNING and glance.checked:
                if time.monotonic() >= self.health_due.get(glance.id, 0.0):
                    self.health_due[glance.id] = time.monotonic() + HEALTH_INTERVAL
                    service = await _row(glance)
                    self._probe(service, self._check_health(service))

    def _probe(self, service: RuntimeService, work: Coroutine[Any, Any, None]) -> None:
        """Run one probe task per service at a time."""
        if service.id in self.probes:
            work.close()
            return
        task = asyncio.create_task(_logging_failures(work, service.name))
        self.probes[service.id] = task
        task.add_done_callback(lambda _: self.probes.pop(service.id, None))

    async def _await_ready(self, service: RuntimeService, state: SupervisorState) -> None:
        spec = service.readiness or {}
        probe = _probe_of(service)
        deadline = service.started_at.timestamp() + float(spec["timeoutSeconds"])  # type: ignore[union-attr]
        pause = READY_POLL
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
            await asyncio.sleep(pause)
            pause = min(pause * 2, READY_POLL_MAX)

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
        asked = set(self.followed)
        running = await Operation.filter(id__in=list(asked), status=OperationStatus.RUNNING)
        # Only those asked about: a job may have been followed while the query ran.
        self.followed -= asked - {operation.id for operation in running}
        await self.runs.learn([operation.id for operation in running])
        for operation in running:
            state = self.runs.state(operation.id)
            if state is None and not adopting:
                continue  # its command is being launched
            if state is None or state.ended or not is_alive(state):
                final = self.runs.final_state(operation.id, state) if state else None
                await jobs.record_end(self.settings, operation, final)
                self.followed.discard(operation.id)
                log.info(
                    "%s %s of workspace %s ended: exit code %s", operation.category.value,
                    operation.phase, operation.workspace_id, operation.exit_code,  # type: ignore[attr-defined]
                )


async def _logging_failures(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("checking service %s failed; the next round tries again", name)


def _probe_of(service: RuntimeService) -> readiness.Probe:
    spec = service.readiness or {}
    return readiness.Probe(
        kind=str(spec["kind"]), target=str(spec["target"]),
        cwd=Path(service.cwd or "/"), env=dict(spec.get("env") or {}),
    )
