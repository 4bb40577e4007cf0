"""Log delivery over operationLog, beside reading the same log file directly.

Starts a real `worksite serve` (SQLite, or a throwaway PostgreSQL cluster with
--database postgres) and a checkout whose provision command is the workload.

Throughput: a finished log of --lines numbered lines, read
  - directly: output.log read in 64 KiB blocks, decoded, lines counted;
  - in-process: the server's LogFollower, without GraphQL or a socket;
  - by 1 subscriber, then by --subscribers concurrent ones (each its own
    connection, all in this one client process), each from offset 0 to the end.
Latency: a job writes 1,000 lines per second for --seconds, each line carrying
the time it was written; one subscriber notes when each line arrives.

Targets: at least 50,000 lines per second to one subscriber; p99 under 100 ms.

    .venv/bin/python bench/log_stream.py [--lines 1000000] [--subscribers 50]
        [--seconds 10] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket
from tests.support.postgres import PostgresCluster
from tests.support.scenarios import (
    OPERATION_LOG,
    GatedProvision,
    numbered_lines_script,
)
from tests.support.server import ServerProcess
from tests.support.supervisors import stop_supervisors
from worksite import db
from worksite.runtime.follow import LogFollower
from worksite.settings import Settings

TOKEN = "bench-operator-token"
RATE = 1000  # lines per second in the latency run

os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@worksite.invalid")
os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@worksite.invalid")


def timed_lines_script(seconds: int) -> str:
    """Python that writes RATE lines a second, each "<n> <time written>"."""
    return (
        "import sys, time\n"
        f"start = time.time()\n"
        f"for i in range({RATE * seconds}):\n"
        f"    delay = start + i / {RATE} - time.time()\n"
        "    if delay > 0:\n"
        "        time.sleep(delay)\n"
        "    sys.stdout.write(f'{i} {time.time():.6f}\\n')\n"
        "    sys.stdout.flush()\n"
    )


# Setting up


@contextmanager
def database(kind: str, root: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite://{root / 'worksite.sqlite3'}"
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        cluster.psql("CREATE DATABASE worksite_bench")
        yield cluster.url("worksite_bench")
    finally:
        cluster.stop()


def make_repository(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# bench\n")
    for args in (
        ["init", "-q", "--initial-branch=main"],
        ["add", "."],
        ["commit", "-q", "-m", "first"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


async def produce(
    api: Api, server: ServerProcess, root: Path, key: str, script: str
) -> GatedProvision:
    run = GatedProvision(api, root / "repo", root, script, key=key)
    async with GraphQLWebSocket.connect(server.ws_url, TOKEN) as client:
        run.operation_id = await run.start(client)  # type: ignore[attr-defined]
    return run


# Measuring


async def subscriber_lines(server: ServerProcess, operation_id: str) -> int:
    async with GraphQLWebSocket.connect(server.ws_url, TOKEN) as client:
        subscription = await client.subscribe(
            OPERATION_LOG, {"operationId": operation_id, "offset": 0}
        )
        return sum([chunk["content"].count("\n") async for chunk in client.values(subscription)])


def direct_read(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(64 * 1024):
            lines += block.decode("utf-8", errors="replace").count("\n")
    return lines, time.perf_counter() - started


async def follower_read(run_dir: Path) -> tuple[int, float]:
    started = time.perf_counter()
    follower = LogFollower(run_dir)
    follower.finish()
    lines = sum([chunk.content.count("\n") async for chunk in follower.chunks()])
    return lines, time.perf_counter() - started


async def throughput(
    api: Api, server: ServerProcess, root: Path, lines: int, subscribers: int
) -> None:
    run = await produce(api, server, root, "THR", numbered_lines_script(lines))
    result = await run.finished()
    assert result["__typename"] == "CheckoutIssueSuccess", result
    operation_id = run.operation_id  # type: ignore[attr-defined]
    run_dir = next(server.data_dir.glob(f"logs/*/{operation_id}"))

    counted, seconds = direct_read(run_dir / "output.log")
    report("read output.log directly", counted, seconds)
    counted, seconds = await follower_read(run_dir)
    report("LogFollower in-process", counted, seconds)

    started = time.perf_counter()
    counted = await subscriber_lines(server, operation_id)
    report("1 subscriber", counted, time.perf_counter() - started)

    started, cpu = time.perf_counter(), cpu_seconds(server)
    counts = await asyncio.gather(
        *(subscriber_lines(server, operation_id) for _ in range(subscribers))
    )
    seconds = time.perf_counter() - started
    server_cpu, client_cpu = (
        now - before for now, before in zip(cpu_seconds(server), cpu, strict=True)
    )
    assert all(count == lines for count in counts), counts
    report(f"{subscribers} subscribers, all together", sum(counts), seconds)
    print(f"  {'each of them':<34} {lines / seconds:>14,.0f} lines/s")
    # Which side limits the figure: the server (one event loop) or this client,
    # which decodes every stream in one process; the one whose CPU nears the wall.
    print(
        f"  {'':<34} server CPU {server_cpu:.1f} s, client CPU {client_cpu:.1f} s, "
        f"wall {seconds:.1f} s ({os.cpu_count()} CPUs)"
    )


async def latency(api: Api, server: ServerProcess, root: Path, seconds: int) -> None:
    run = await produce(api, server, root, "LAT", timed_lines_script(seconds))
    delays: list[float] = []
    async with GraphQLWebSocket.connect(server.ws_url, TOKEN) as client:
        subscription = await client.subscribe(
            OPERATION_LOG,
            {"operationId": run.operation_id, "offset": 0},  # type: ignore[attr-defined]
        )
        run.open_gate()
        pending = ""
        async for chunk in client.values(subscription):
            arrived = time.time()
            pending += chunk["content"]
            *complete, pending = pending.split("\n")
            delays.extend(arrived - float(line.split()[1]) for line in complete)
    await run.finished()

    assert len(delays) == RATE * seconds, len(delays)
    cuts = statistics.quantiles(delays, n=100)
    print(
        f"latency at {RATE} lines/s over {seconds} s ({len(delays)} lines): "
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
        f"max {max(delays) * 1000:.1f} ms"
    )


def cpu_seconds(server: ServerProcess) -> tuple[float, float]:
    """CPU time used so far by the server process and by this one."""
    assert server.process is not None
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    server_cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    own = os.times()
    return server_cpu, own.user + own.system


def report(label: str, lines: int, seconds: float) -> None:
    print(f"  {label:<34} {lines / seconds:>14,.0f} lines/s  ({lines:,} lines in {seconds:.2f} s)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="worksite-bench-"))
    try:
        make_repository(root)
        with database(args.database, root) as url:
            await db.migrate(url)
            data_dir = root / "data"
            server = ServerProcess(data_dir, url, TOKEN)
            server.start()
            try:
                async with httpx2.AsyncClient(base_url=server.url, timeout=600.0) as http:
                    api = Api(http, Settings(data_dir, url, TOKEN), TOKEN)
                    print(f"log delivery, {args.database}, {args.lines:,} lines:")
                    await throughput(api, server, root, args.lines, args.subscribers)
                    await latency(api, server, root, args.seconds)
            finally:
                server.stop()
                stop_supervisors(data_dir / "logs")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
