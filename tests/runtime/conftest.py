"""Every process a runtime test starts is ended by that test, even when it fails."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.supervisors import kill_if_same
from worksite.runtime.processes import (
    SupervisorState,
    is_alive,
    read_state,
    request_stop,
    spawn_supervised_async,
)

STOP_TIMEOUT = 20.0


def recorded_pids(pid_file: Path) -> list[tuple[int, int]]:
    """The "<pid> <start ticks>" lines that the test scripts append to pid_file."""
    if not pid_file.exists():
        return []
    text = pid_file.read_text()
    lines = text[: text.rfind("\n") + 1].splitlines()  # only complete lines
    return [(int(pid), int(ticks)) for pid, ticks in (line.split() for line in lines)]


class Reaper:
    """Starts supervised commands for a test and remembers what to end afterwards."""

    def __init__(self) -> None:
        self.run_dirs: list[Path] = []
        self.pid_files: list[Path] = []

    async def spawn(
        self,
        run_dir: Path,
        argv: list[str],
        cwd: Path,
        *,
        grace: float = 10.0,
        env: dict[str, str] | None = None,
    ) -> SupervisorState:
        self.watch_run(run_dir)
        environment = dict(os.environ) if env is None else env
        return await spawn_supervised_async(run_dir, argv, cwd, environment, grace=grace)

    def watch_run(self, run_dir: Path) -> Path:
        self.run_dirs.append(run_dir)
        return run_dir

    async def wait_for_pids(self, pid_file: Path, count: int) -> list[tuple[int, int]]:
        """Wait until a test script has recorded count processes; end them at teardown."""
        if pid_file not in self.pid_files:
            self.pid_files.append(pid_file)
        deadline = time.monotonic() + STOP_TIMEOUT
        while len(pids := recorded_pids(pid_file)) < count:
            assert time.monotonic() < deadline, f"{pid_file} holds {pids}"
            await asyncio.sleep(0.02)
        return pids

    def clean_up(self) -> None:
        for run_dir in self.run_dirs:
            state = read_state(run_dir) if (run_dir / "state.json").exists() else None
            if state is not None and is_alive(state):
                self._stop(state)
        for pid_file in self.pid_files:
            for pid, ticks in recorded_pids(pid_file):
                kill_if_same(pid, ticks)

    @staticmethod
    def _stop(state: SupervisorState) -> None:
        request_stop(state)
        deadline = time.monotonic() + STOP_TIMEOUT
        while is_alive(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_if_same(state.supervisor_pid, state.supervisor_start_ticks)


@pytest.fixture
def reaper() -> Iterator[Reaper]:
    reaper = Reaper()
    try:
        yield reaper
    finally:
        reaper.clean_up()
