"""A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks.

The cluster lives in a temporary directory owned by the `postgres` user (initdb
refuses to run as root) and is stopped through pg_ctl, which signals the
postmaster by the pid recorded in its own data directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="worksite-pg-"))
        self.data = self.root / "data"

    @property
    def admin_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL 15 server binaries not found in {PG_BIN}: "
                "install the postgresql-15 package (scripts/test does)"
            )
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "--no-sync",
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C",
        )
        self.start_server()

    def start_server(self) -> None:
        """Start the postmaster of the cluster (again), on the same port."""
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(self.root / "log"),
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.root} -F "
            "-c full_page_writes=off -c synchronous_commit=off",
            "start",
        )

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the postmaster and keep the cluster, to start it again later."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._as_postgres(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
            binary_dir=Path("/usr/bin"),
        )

    def _as_postgres(self, tool: str, *args: str, binary_dir: Path = PG_BIN) -> str:
        command = [str(binary_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/", timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stderr.strip()}")
        return result.stdout
