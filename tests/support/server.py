"""A real `worksite serve` process on a free loopback port, stopped by its pid.

Commands the server starts run under supervisors that outlive it by design (a
restart adopts them), so stopping the server leaves them running; a test ends
them with `tests.support.supervisors.stop_supervisors` once it is done with its data
directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.postgres import free_port

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class ServerProcess:
    def __init__(self, data_dir: Path, database_url: str, token: str, name: str = "server") -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.token = token
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # Named, so that several servers can share one data directory.
        self.log_path = data_dir / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and wait until /healthz answers."""
        env = {
            **os.environ,
            "WORKSITE_DATA_DIR": str(self.data_dir),
            "WORKSITE_DATABASE_URL": self.database_url,
            "WORKSITE_TOKEN": self.token,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "worksite.cli", "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server process itself; services it supervises are not its children."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except FileNotFoundError:
            return ""
