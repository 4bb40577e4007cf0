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
from worksite.domain.environments import host_for
from worksite.domain.errors import WorksiteError
from worksite.domain.service_state import LIVE, now
from worksite.models import Operation, RuntimeService
from worksite.models.enums import (
    EnvironmentKind,
    OperationStatus,
    ServiceHealth,
    ServiceStatus,
)
from worksite.providers.host import WorkspaceHost
from worksite.providers.ssh import SshError
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


def rounds() -> int:
    """How many rounds the running monitor has finished (0 when none runs)."""
    return _active.rounds if _active is not None else 0


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


class Look(NamedTuple):
    """What a round learnt of a run on an SSH host: its state, and if it lives."""

    state: SupervisorState | None
    alive: bool


UNREACHABLE = Look(None, True)


class Runs:
    """The run directories of followed operations and their last-read state.

    On this machine a directory never changes, and the supervisor replaces
    state.json only twice (started, ended), so a round costs one stat per run once
    both are known. Runs on SSH hosts are looked at once per round, all at once
    (refresh), which also brings the server's copy of their logs up to date; a run
    whose host cannot be reached is left as it was until the host answers again.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directories: dict[UUID, Path] = {}
        self.states: dict[UUID, tuple[tuple[int, int], SupervisorState | None]] = {}
        self.hosts: dict[UUID, WorkspaceHost] = {}  # runs elsewhere than here
        self.remote_dirs: dict[UUID, str] = {}  # their run directories there
        self.looks: dict[UUID, Look] = {}
        self.out_of_reach: set[str] = set()  # hosts already reported unreachable

    async def learn(self, operation_ids: list[UUID]) -> None:
        """Look up the directories (and hosts) of operations not seen before.

        Runs on SSH hosts are looked up every round: their environment may have
        changed (a new address, key or host key), and the pool then has a new link.
        """
        unknown = [id for id in operation_ids if id not in self.directories or id in self.hosts]
        if not unknown:
            return
        for operation in await Operation.filter(id__in=unknown).prefetch_related(
            "workspace__environment"
        ):
            self.directories[operation.id] = operations.log_dir(self.settings, operation)
            environment = operation.workspace.environment
            if environment.kind != EnvironmentKind.LOCAL:
                try:
                    host = self.hosts[operation.id] = host_for(self.settings, environment)
                    self.remote_dirs[operation.id] = host.run_dir(operation.log_path)
                except WorksiteError as error:
                    log.warning("cannot follow operation %s: %s", operation.id, error)

    async def refresh(self, operation_ids: list[UUID]) -> None:
        """Look at every run on an SSH host among these, concurrently."""
        remote = [id for id in operation_ids if id in self.hosts]
        looks = await asyncio.gather(*(self._look(id) for id in remote))
        self.looks.update(zip(remote, looks, strict=True))

    def reachable(self, operation_id: UUID | None) -> bool:
        return self.looks.get(operation_id) is not UNREACHABLE  # type: ignore[arg-type]

    def state(self, operation_id: UUID | None) -> SupervisorState | None:
        """What the run's state.json says now; None before it exists."""
        if operation_id in self.hosts:
            look = self.looks.get(operation_id)
            return look.state if look is not None else None
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

    def alive(self, operation_id: UUID | None, state: SupervisorState) -> bool:
        if operation_id in self.hosts:
            look = self.looks.get(operation_id)
            return look is None or look.alive
        return is_alive(state)

    def host(self, operation_id: UUID | None) -> WorkspaceHost | None:
        """The SSH host of a run; None for a run on this machine."""
        return self.hosts.get(operation_id) if operation_id else None

    def final_state(self, operation_id: UUID, state: SupervisorState) -> SupervisorState | None:
        """The state of a supervisor that ended or died: its final one, or None."""
        if state.ended:
            return state
        if operation_id in self.hosts:
            return None  # _look read it again already
        # It may have written the end just before exiting, after our read.
        again = self.state(operation_id)
        return again if again is not None and again.ended else None

    def keep_only(self, operation_ids: set[UUID]) -> None:
        tables = (self.directories, self.states, self.hosts, self.remote_dirs, self.looks)
        for table in tables:
            for id in set(table) - operation_ids:
                del table[id]

    async def _look(self, operation_id: UUID) -> Look:
        host, run_dir = self.hosts[operation_id], self.remote_dirs[operation_id]
        operation_dir = self.directories[operation_id]
        try:
            state = await host.read_state(run_dir)
            alive = state is not None and not state.ended and await host.is_alive(state)
            if state is not None and not state.ended and not alive:
                state = await host.read_state(run_dir)  # it may have ended meanwhile
            await host.mirror_logs(run_dir, operation_dir)
        except SshError as error:
            if host.label not in self.out_of_reach:
                self.out_of_reach.add(host.label)
                log.warning(
                    "runs on %s are out of reach; they are left as they were: %s",
                    host.label,
                    error,
                )
            return UNREACHABLE
        except SupervisorError as error:
            log.warning("cannot follow operation %s: %s", operation_id, error)
            return Look(None, False)
        if host.label in self.out_of_reach:
            self.out_of_reach.discard(host.label)
            log.info("runs on %s are in reach again", host.label)
        return Look(state, alive)


class Monitor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs = Runs(settings)
        self.followed: set[UUID] = set()
        self.woken = asyncio.Event()
        self.probes: dict[UUID, asyncio.Task[None]] = {}
        self.health_due: dict[UUID, float] = {}
        self.task: asyncio.Task[None] | None = None
        self.rounds = 0

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
            still,
            len(services) - still,
            len(self.followed),
            left - len(self.followed),
            time.monotonic() - started,
        )

    async def _run(self) -> None:
        while True:
            try:
                await self._check_services(await _glance())
                await self._check_operations()
            except Exception:
                log.exception("the service monitor failed a round; it goes on")
            self.rounds += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), POLL_INTERVAL)
            self.woken.clear()

    # Services

    async def _check_services(self, glances: list[Glance], adopting: bool = False) -> None:
        runs = [glance.run for glance in glances if glance.run is not None]
        await self.runs.learn(runs)
        self.runs.keep_only({*runs, *self.followed})
        await self.runs.refresh(runs)
        live = {glance.id for glance in glances}
        self.health_due = {k: v for k, v in self.health_due.items() if k in live}
        for glance in glances:
            if not self.runs.reachable(glance.run):
                continue  # its host is out of reach: nothing is known, nothing changes
            state = self.runs.state(glance.run)
            if state is None:
                # Not launched yet: in a running server a start is under way; at
                # start-up, the server that claimed it died before launching it.
                if adopting:
                    await service_state.record_end(
                        self.settings,
                        await _row(glance),
                        None,
                        reason="the server stopped before the service was launched",
                    )
                continue
            if state.ended or not self.runs.alive(glance.run, state):
                final = self.runs.final_state(glance.run, state)  # type: ignore[arg-type]
                await service_state.record_end(self.settings, await _row(glance), final)
            elif glance.status == ServiceStatus.STOPPING and adopting:
                # The last server may have died between deciding and signalling.
                await self._request_stop(glance.run, state)
            elif glance.status == ServiceStatus.STARTING and not glance.checked:
                # Launched, with nothing to wait for: its start may not have said so
                # yet (or died before it could).
                await service_state.mark_ready(await _row(glance), ServiceHealth.UNKNOWN)
            elif glance.id in self.probes:
                continue  # a readiness or health check is under way
            elif glance.status == ServiceStatus.STARTING:
                service = await _row(glance)
                self._probe(service, self._await_ready(service, state, glance.run))
            elif glance.status == ServiceStatus.RUNNING and glance.checked:
                if time.monotonic() >= self.health_due.get(glance.id, 0.0):
                    self.health_due[glance.id] = time.monotonic() + HEALTH_INTERVAL
                    service = await _row(glance)
                    self._probe(service, self._check_health(service, glance.run))

    def _probe(self, service: RuntimeService, work: Coroutine[Any, Any, None]) -> None:
        """Run one probe task per service at a time."""
        if service.id in self.probes:
            work.close()
            return
        task = asyncio.create_task(_logging_failures(work, service.name))
        self.probes[service.id] = task
        task.add_done_callback(lambda _: self.probes.pop(service.id, None))

    async def _await_ready(
        self, service: RuntimeService, state: SupervisorState, run: UUID | None
    ) -> None:
        spec = service.readiness or {}
        probe = _probe_of(service)
        reach = self.runs.host(run) or readiness.THIS_MACHINE
        deadline = service.started_at.timestamp() + float(spec["timeoutSeconds"])  # type: ignore[union-attr]
        pause = READY_POLL
        while True:
            remaining = deadline - now().timestamp()
            reason = await _check(probe, max(0.1, min(PROBE_TIMEOUT, remaining)), reach)
            if reason is None:
                await service_state.mark_ready(service)
                self.health_due[service.id] = time.monotonic() + HEALTH_INTERVAL
                return
            if now().timestamp() >= deadline:
                await self._give_up_on(service, state, spec, reason, run)
                return
            if not await self._still_alive(run, state):
                return  # ended; the next round records how
            await asyncio.sleep(pause)
            pause = min(pause * 2, READY_POLL_MAX)

    async def _give_up_on(
        self,
        service: RuntimeService,
        state: SupervisorState,
        spec: dict[str, object],
        reason: str,
        run: UUID | None,
    ) -> None:
        verdict = f"not ready within {float(spec['timeoutSeconds']):g} s: {reason}"  # type: ignore[arg-type]
        if await service_state.mark_not_ready(service, verdict):
            log.warning("service %s: %s", await service_state.label(service), verdict)
            await self._request_stop(run, state)

    async def _still_alive(self, run: UUID | None, state: SupervisorState) -> bool:
        host = self.runs.host(run)
        if host is None:
            return is_alive(state)
        try:
            return await host.is_alive(state)
        except SshError:
            return True  # not known; the rounds find out once the host answers

    async def _request_stop(self, run: UUID | None, state: SupervisorState) -> None:
        host = self.runs.host(run)
        if host is None:
            request_stop(state)
            return
        try:
            await host.request_stop(state)
        except SshError as error:
            log.warning("could not stop a run on %s: %s", host.label, error)

    async def _check_health(self, service: RuntimeService, run: UUID | None) -> None:
        reach = self.runs.host(run) or readiness.THIS_MACHINE
        reason = await _check(_probe_of(service), PROBE_TIMEOUT, reach)
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
        await self.runs.refresh([operation.id for operation in running])
        for operation in running:
            if not self.runs.reachable(operation.id):
                continue  # its host is out of reach: nothing is known, nothing changes
            state = self.runs.state(operation.id)
            if state is None and not adopting:
                continue  # its command is being launched
            if state is None or state.ended or not self.runs.alive(operation.id, state):
                final = self.runs.final_state(operation.id, state) if state else None
                await jobs.record_end(self.settings, operation, final)
                self.followed.discard(operation.id)
                log.info(
                    "%s %s of workspace %s ended: exit code %s",
                    operation.category.value,
                    operation.phase,
                    operation.workspace_id,  # type: ignore[attr-defined]
                    operation.exit_code,
                )


async def _check(probe: readiness.Probe, timeout: float, reach: readiness.Reach) -> str | None:
    try:
        return await readiness.check(probe, timeout, reach)
    except SshError as error:
        return str(error)


async def _logging_failures(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("checking service %s failed; the next round tries again", name)


def _probe_of(service: RuntimeService) -> readiness.Probe:
    spec = service.readiness or {}
    return readiness.Probe(
        kind=str(spec["kind"]),
        target=str(spec["target"]),
        cwd=Path(service.cwd or "/"),
        env=dict(spec.get("env") or {}),
    )
