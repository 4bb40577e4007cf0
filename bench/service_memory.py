"""Memory that Worksite's supervision adds per service (target: under 10 MB).

    .venv/bin/python bench/service_memory.py [--services 20] [--database-url URL]

Starts N services (`sleep 3600`) in one workspace of a real server and reads, from
/proc/<pid>/smaps_rollup: each supervisor's RSS (every page it maps, shared ones
counted in full), PSS (shared pages split among their sharers) and USS (pages only
it holds: what one more service costs), the `sh -c` wrapper's if one remains, and
the server's own RSS before and after. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time

from support import (
    START,
    STOP,
    Client,
    bench_server,
    make_repo,
    memory_kib,
    supervisors,
    workspaces,
)


def mib(kib: float) -> str:
    return f"{kib / 1024:5.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--database-url", help="default: SQLite in the data directory")
    args = parser.parse_args()

    commands = [
        {"name": f"svc{n}", "kind": "service", "command": "sleep 3600"}
        for n in range(args.services)
    ]
    with bench_server(args.database_url) as (server, root):
        client = Client(server)
        (workspace,) = workspaces(client, make_repo(root), commands, 1)
        time.sleep(1)  # let the server settle after the set-up requests
        server_before = memory_kib(server.pid)["rss"]

        client.call(START, id=workspace, name=None)
        time.sleep(2)  # two monitor rounds over every service
        server_after = memory_kib(server.pid)["rss"]
        states = supervisors(server.data_dir)
        readings = [memory_kib(state.supervisor_pid) for state in states]
        wrappers = [
            memory_kib(pid)
            for state in states
            if state.child_pid is not None
            for pid in [state.child_pid]
            if _is_shell(pid)
        ]
        client.call(STOP, id=workspace, name=None)

    count = len(readings)
    print(f"supervision of {count} services (sleep 3600), per service:")
    for name in ("rss", "pss", "uss"):
        values = sorted(reading[name] for reading in readings)
        median, largest = mib(values[count // 2]), mib(values[-1])
        print(f"  supervisor {name.upper()}: median {median}, max {largest}")
    if wrappers:
        print(
            f"  `sh -c` wrappers still running: {len(wrappers)}, "
            f"USS {mib(sum(w['uss'] for w in wrappers) / len(wrappers))} each"
        )
    else:
        print("  `sh -c` wrapper: none left (the shell execs the command)")
    growth = (server_after - server_before) / max(1, count)
    print(
        f"  server RSS growth: {mib(growth)} per service "
        f"({mib(server_before)} before, {mib(server_after)} after)"
    )
    print(
        "USS is what one more service costs; PSS adds its share of the interpreter's "
        "pages, which every supervisor and the server share."
    )


def _is_shell(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip() in ("sh", "dash", "bash")
    except OSError:
        return False


if __name__ == "__main__":
    main()
