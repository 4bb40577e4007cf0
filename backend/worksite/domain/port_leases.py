"""Port leases: a command that asks for a port gets one held for its workspace.

A lease belongs to one (workspace, command name) and stays with it across restarts,
so a service keeps its URL; the database keeps a port to one lease, so two workspaces
never share it. A fixed port moves to the workspace that starts its command, unless a
command of another workspace is running on it. Before a port is leased it is bound
once to check that it is free: a port some other process holds is refused with that
process's name, and the process is left alone. Leases end with the workspace
(release_all, on close).
"""

from __future__ import annotations

import logging

from tortoise.exceptions import IntegrityError

from worksite.domain.errors import Conflict
from worksite.models import ExecutionWorkspace, Operation, PortLease, RuntimeService
from worksite.models.enums import OperationStatus, ServiceStatus
from worksite.providers.host import WorkspaceHost
from worksite.providers.ssh import SshError

log = logging.getLogger(__name__)

LIVE = (ServiceStatus.STARTING, ServiceStatus.RUNNING, ServiceStatus.STOPPING)


async def lease(
    host: WorkspaceHost,
    workspace: ExecutionWorkspace,
    name: str,
    wanted: int | str,
    candidates: range,
) -> int:
    """The port for command `name` of the workspace: `wanted`, or for "auto" a free
    one of the candidates (the one it had before, if that is still free).

    Free means free on the workspace's host, where the command will listen.
    """
    try:
        if wanted == "auto":
            return await _lease_any(host, workspace, name, candidates)
        return await _lease_fixed(host, workspace, name, int(wanted))
    except SshError as error:
        raise Conflict(f"Cannot lease a port on {host.label}: {error}") from None


async def release_all(workspace: ExecutionWorkspace) -> None:
    await PortLease.filter(workspace_id=workspace.id).delete()


async def _lease_fixed(
    host: WorkspaceHost, workspace: ExecutionWorkspace, name: str, port: int
) -> int:
    holder = await PortLease.get_or_none(port=port)
    if holder is not None and (holder.workspace_id, holder.name) != (workspace.id, name):  # type: ignore[attr-defined]
        if await _running(holder):
            other = await ExecutionWorkspace.get(id=holder.workspace_id)  # type: ignore[attr-defined]
            raise Conflict(
                f"Port {port} is leased to {holder.name} of workspace {other.name}, "
                "which is running; stop it or give this command another port."
            )
        await PortLease.filter(id=holder.id).delete()

    if not await host.port_is_free(port):
        raise Conflict(
            f"Port {port} is in use by {await host.port_holder(port)}, which Worksite "
            "does not manage; nothing was stopped. Free the port or give this command "
            "another one."
        )
    try:
        await _assign(workspace, name, port)
    except IntegrityError:
        raise Conflict(f"Port {port} was leased to another command meanwhile.") from None
    return port


async def _lease_any(
    host: WorkspaceHost, workspace: ExecutionWorkspace, name: str, candidates: range
) -> int:
    current = await PortLease.get_or_none(workspace_id=workspace.id, name=name)
    if current is not None and await host.port_is_free(current.port):
        return current.port

    leased = {row["port"] for row in await PortLease.all().values("port")}
    for port in candidates:
        if port in leased or not await host.port_is_free(port):
            continue
        try:
            await _assign(workspace, name, port)
        except IntegrityError:
            continue  # leased by a concurrent start; try the next one
        log.debug("leased port %s to %s of %s", port, name, workspace.name)
        return port
    raise Conflict(
        f"No free port left in {candidates.start}-{candidates.stop - 1} (WORKSITE_SERVICE_PORTS)."
    )


async def _assign(workspace: ExecutionWorkspace, name: str, port: int) -> None:
    moved = await PortLease.filter(workspace_id=workspace.id, name=name).update(port=port)
    if not moved:
        await PortLease.create(workspace=workspace, name=name, port=port)


async def _running(holder: PortLease) -> bool:
    """Whether the command holding a lease runs now (a live service or a job)."""
    workspace_id = holder.workspace_id  # type: ignore[attr-defined]
    service_live = await RuntimeService.filter(
        workspace_id=workspace_id, name=holder.name, status__in=LIVE
    ).exists()
    job_running = await Operation.filter(
        workspace_id=workspace_id,
        service_name=holder.name,
        phase="job",
        status=OperationStatus.RUNNING,
    ).exists()
    return service_live or job_running
