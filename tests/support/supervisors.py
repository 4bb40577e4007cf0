"""End every supervised command a test left running under a directory.

Used at teardown, so a failing test leaves no process behind. Supervisors are found
through their state.json and stopped through their pid checked with its start time,
as the server does; SIGKILL follows when one does not end in time.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from worksite.runtime.processes import (
    SupervisorError,
    SupervisorState,
    is_alive,
    read_state,
    request_stop,
    start_ticks,
)

STOP_TIMEOUT = 30.0


def live_supervisors(root: Path) -> list[SupervisorState]:
    found = []
    for state_file in root.rglob("state.json"):
        try:
            state = read_state(state_file.parent)
        except SupervisorError:
            continue
        if state is not None and is_alive(state):
            found.append(state)
    return found


def stop_supervisors(root: Path) -> None:
    running = live_supervisors(root)
    for state in running:
        request_stop(state)
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(is_alive(state) for state in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for state in running:
        kill_if_same(state.supervisor_pid, state.supervisor_start_ticks)


def kill_if_same(pid: int, ticks: int) -> None:
    """SIGKILL pid only if it is still the process that started at ticks."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        if start_ticks(pid) == ticks:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        os.close(pidfd)
