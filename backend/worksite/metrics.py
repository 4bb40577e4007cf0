"""What /metrics reports, in the Prometheus text exposition format (version 0.0.4).

Counts come from the database at each scrape, so every server process sharing a
database reports the same workspaces, services and operations; live subscriptions
and WebSockets are this process's own. Log bytes are the size of the logs on disk
(services and jobs write them from supervisors of their own, not through the server).
"""

from __future__ import annotations

import os
import resource
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tortoise.functions import Count

from worksite.models import ExecutionWorkspace, Operation, RuntimeService
from worksite.models.enums import OperationStatus, ServiceStatus, WorkspaceStatus
from worksite.settings import Settings

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; from a quick job to a long provision.
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Live:
    """Gauges this process keeps as things happen."""

    subscriptions: int = 0
    websockets: int = 0


live = Live()


@dataclass
class Exposition:
    lines: list[str] = field(default_factory=list)

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        text = ",".join(f'{key}="{_escape(str(v))}"' for key, v in labels.items())
        labelled = f"{name}{{{text}}}" if text else name
        self.lines.append(f"{labelled} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


async def render(settings: Settings) -> str:
    out = Exposition()
    await _workspaces(out)
    await _services(out)
    await _operations(out)

    out.family(
        "worksite_live_subscriptions", "gauge", "GraphQL subscriptions open in this process."
    )
    out.sample("worksite_live_subscriptions", live.subscriptions)
    out.family("worksite_websocket_connections", "gauge", "WebSockets open to this process.")
    out.sample("worksite_websocket_connections", live.websockets)
    out.family("worksite_log_bytes", "gauge", "Bytes of operation and service logs on disk.")
    out.sample("worksite_log_bytes", _size_of(settings.logs_dir))
    _process(out)
    return out.text()


async def _workspaces(out: Exposition) -> None:
    counts = await _count_by(ExecutionWorkspace, "status")
    out.family("worksite_workspaces", "gauge", "Execution workspaces by status.")
    for status in WorkspaceStatus:
        out.sample("worksite_workspaces", counts.get(status.value, 0), status=status.value)


async def _services(out: Exposition) -> None:
    counts = await _count_by(RuntimeService, "status")
    out.family("worksite_services", "gauge", "Runtime services by status.")
    for status in ServiceStatus:
        out.sample("worksite_services", counts.get(status.value, 0), status=status.value)


async def _operations(out: Exposition) -> None:
    rows = await Operation.all().values_list("phase", "status", "started_at", "finished_at")
    counts = Counter((phase, _value(status)) for phase, status, _, _ in rows)
    out.family("worksite_operations_total", "counter", "Operations by kind (phase) and outcome.")
    for (phase, status), count in sorted(counts.items()):
        out.sample("worksite_operations_total", count, kind=phase, status=status)

    name = "worksite_operation_duration_seconds"
    out.family(name, "histogram", "How long finished operations took, by kind (phase).")
    durations: dict[str, list[float]] = {}
    for phase, status, started, finished in rows:
        if finished is not None and _value(status) != OperationStatus.RUNNING.value:
            seconds = max(0.0, (finished - started).total_seconds())
            durations.setdefault(phase, []).append(seconds)
    for phase, values in sorted(durations.items()):
        for bound in DURATION_BUCKETS:
            below = sum(1 for v in values if v <= bound)
            out.sample(f"{name}_bucket", below, kind=phase, le=_number(bound))
        out.sample(f"{name}_bucket", len(values), kind=phase, le="+Inf")
        out.sample(f"{name}_sum", sum(values), kind=phase)
        out.sample(f"{name}_count", len(values), kind=phase)


def _process(out: Exposition) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.family("process_cpu_seconds_total", "counter", "User and system CPU time of the server.")
    out.sample("process_cpu_seconds_total", usage.ru_utime + usage.ru_stime)
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    out.family("process_resident_memory_bytes", "gauge", "Resident memory of the server.")
    out.sample("process_resident_memory_bytes", resident_pages * _PAGE_SIZE)
    out.family("process_open_fds", "gauge", "Open file descriptors of the server.")
    out.sample("process_open_fds", len(os.listdir("/proc/self/fd")))
    out.family("process_start_time_seconds", "gauge", "When the server started, in Unix time.")
    out.sample("process_start_time_seconds", _start_time())


async def _count_by(model: type, column: str) -> dict[str, int]:
    rows = await model.annotate(n=Count("id")).group_by(column).values_list(column, "n")  # type: ignore[attr-defined]
    return {_value(key): n for key, n in rows}


def _value(status: object) -> str:
    return str(getattr(status, "value", status))


def _size_of(directory: Path) -> int:
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # removed while we walked
                continue
    return total


def _start_time() -> float:
    with open("/proc/self/stat") as stat:
        # Field 22 (after the command name, which may hold spaces): start in clock ticks.
        ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as system:
        boot = next(int(line.split()[1]) for line in system if line.startswith("btime"))
    return boot + ticks / _CLOCK_TICKS


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))
