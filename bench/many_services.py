"""100 services in 20 workspaces: server memory, idle CPU, and re-adoption after a
restart (target: under 2 s for 100 services).

    .venv/bin/python bench/many_services.py [--workspaces 20] [--per-workspace 5]
        [--idle-seconds 10] [--database-url URL]

Each workspace runs one TCP listener with a readiness check (so the monitor also
checks health while idle) and sleepers. Reads the server's RSS, then its CPU time
and the supervisors' over an idle window; then stops the server with SIGTERM,
starts a new one and reads how long adoption took (from its log line) and how long
until it answered /healthz. Prints figures; asserts only that every service is
still running after the restart.
"""

from __future__ import annotations

import argparse
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import (
    LISTENER,
    SERVICES,
    START,
    STOP,
    Client,
    bench_server,
    cpu_seconds,
    make_repo,
    memory_kib,
    supervisors,
    workspaces,
)

ADOPTED = re.compile(r"adopted (\d+) live services .* in ([0-9.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--per-workspace", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--database-url", help="default: SQLite in the data directory")
    args = parser.parse_args()

    commands = [
        {
            "name": "web",
            "kind": "service",
            "command": LISTENER,
            "port": "auto",
            "readiness": {"tcp": "auto", "timeoutSeconds": 60},
        },
        *(
            {"name": f"worker{n}", "kind": "service", "command": "sleep 3600"}
            for n in range(args.per_workspace - 1)
        ),
    ]
    total = args.workspaces * args.per_workspace
    with bench_server(args.database_url) as (server, root):
        client = Client(server)
        ids = workspaces(client, make_repo(root), commands, args.workspaces)
        baseline = memory_kib(server.pid)["rss"]

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda id: client.call(START, id=id, name=None), ids))
        start_all = time.monotonic() - started
        running = running_services(client, ids)
        assert running == total, f"{running} of {total} services run"

        time.sleep(1)
        rss = memory_kib(server.pid)["rss"]
        server_cpu, supervisors_cpu = idle_cpu(server.pid, server.data_dir, args.idle_seconds)

        server.stop()
        restarted = server.start()
        log = server.log_path.read_text()
        adopted, adoption = ADOPTED.findall(log)[-1]
        still = running_services(Client(server), ids)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda id: Client(server).call(STOP, id=id, name=None), ids))

    print(f"{total} services in {args.workspaces} workspaces")
    print(f"  starting all (wait for ready), 8 clients at once: {start_all:.2f} s")
    print(f"  server RSS: {rss / 1024:.1f} MiB ({baseline / 1024:.1f} MiB before the services)")
    print(
        f"  idle CPU over {args.idle_seconds:g} s: server {server_cpu:.2f} % of one core, "
        f"all {total} supervisors together {supervisors_cpu:.2f} %"
    )
    print(
        f"  after SIGTERM and a new server: adoption of {adopted} services took "
        f"{float(adoption):.3f} s; /healthz answered {restarted:.2f} s after launch"
    )
    print(f"  services running after the restart: {still} of {total}")
    assert still == total


def running_services(client: Client, ids: list[str]) -> int:
    count = 0
    for id in ids:
        services = client.call(SERVICES, id=id)["services"]
        count += sum(1 for service in services if service["status"] == "RUNNING")
    return count


def idle_cpu(server_pid: int, data_dir: Path, seconds: float) -> tuple[float, float]:
    """Percent of one core used by the server, and by every supervisor together."""
    pids = [state.supervisor_pid for state in supervisors(data_dir)]
    server_before, supervisors_before = cpu_seconds(server_pid), sum(map(cpu_seconds, pids))
    time.sleep(seconds)
    server_after, supervisors_after = cpu_seconds(server_pid), sum(map(cpu_seconds, pids))
    return (
        100 * (server_after - server_before) / seconds,
        100 * (supervisors_after - supervisors_before) / seconds,
    )


if __name__ == "__main__":
    main()
