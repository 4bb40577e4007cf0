"""Start-to-ready latency of a trivial service: through Worksite, and spawned directly.

    .venv/bin/python bench/service_start.py [--runs 20] [--database-url URL]

The service listens on $PORT and its readiness check is a TCP connect. Through
Worksite: startWorkspaceService(wait: true) from the client's side, and readyAt -
startedAt as the server recorded it. Directly: Popen of the same command, then a
connect every 10 ms until it succeeds. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import time
from datetime import datetime

from support import (
    LISTENER,
    START,
    STOP,
    Client,
    bench_server,
    free_port,
    make_repo,
    summary,
    workspaces,
)


def direct_start(command: str) -> float:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        ["/bin/sh", "-c", command],
        env={**os.environ, "PORT": str(port)},
        start_new_session=True,
    )
    try:
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return time.monotonic() - started
            if time.monotonic() - started > 30:
                raise RuntimeError("the service did not listen within 30 s")
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, 9)
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", help="default: SQLite in the data directory")
    args = parser.parse_args()

    service = {
        "name": "web",
        "kind": "service",
        "command": LISTENER,
        "port": "auto",
        "readiness": {"tcp": "auto", "timeoutSeconds": 30},
    }
    client_side, server_side = [], []
    with bench_server(args.database_url) as (server, root):
        client = Client(server)
        (workspace,) = workspaces(client, make_repo(root), [service], 1)
        for _ in range(args.runs):
            started = time.monotonic()
            (web,) = client.call(START, id=workspace, name="web")["services"]
            client_side.append(time.monotonic() - started)
            assert web["status"] == "RUNNING", web
            ready_at, started_at = (
                datetime.fromisoformat(web[key]) for key in ("readyAt", "startedAt")
            )
            server_side.append((ready_at - started_at).total_seconds())
            client.call(STOP, id=workspace, name="web")
    direct = [direct_start(LISTENER) for _ in range(args.runs)]

    print(f"start-to-ready of a trivial TCP service, {args.runs} runs each")
    print(f"  Worksite, client's view (mutation round trip): {summary(client_side)}")
    print(f"  Worksite, server's view (readyAt - startedAt): {summary(server_side)}")
    print(f"  spawned directly, polled every 10 ms:          {summary(direct)}")


if __name__ == "__main__":
    main()
