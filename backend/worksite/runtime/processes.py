"""Start commands under supervisor.py and follow them through their run directory.

Each supervised command owns a run directory: the supervisor writes the logs and
state.json there (see supervisor.py), and the server learns everything it needs from
those files, so it can restart and pick up where it left off. The supervisor is
identified by its pid together with its start time, so a pid reused by an unrelated
process is never mistaken for it, and nothing here signals any other process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

SUPERVISOR_SCRIPT = Path(__file__).with_name("supervisor.py")
STATE_FILE = "state.json"
POLL_INTERVAL = 0.05
# A run needs room for its state file and the supervisor's log reserve (16 KiB); with
# less free, it would start and then fail to record how it ended, so the supervisor
# refuses to start it.
MIN_FREE_BYTES = 64 * 1024

T = TypeVar("T")


class SupervisorError(Exception):
    """The supervisor did not start, or its state file cannot be understood."""


@dataclass(frozen=True)
class SupervisorState:
    """The contents of state.json: how a supervised command started, and how it ended."""

    supervisor_pid: int
    supervisor_start_ticks: int
    child_pid: int | None
    pgid: int | None
    started_at: float
    argv: tuple[str, ...]
    cwd: Path
    ended_at: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    stopped: bool = False
    error: str | None = None

    @property
    def ended(self) -> bool:
        """Whether the command and all its descendants have ended."""
        return self.ended_at is not None

    @classmethod
    def from_json(cls, data: object) -> SupervisorState:
        """Build the state from decoded state.json; SupervisorError names a bad field."""
        if not isinstance(data, dict):
            raise SupervisorError(f"Expected a JSON object, got {type(data).__name__}.")

        def read(name: str, convert: Callable[[object], T]) -> T:
            value = data.get(name)
            try:
                return convert(value)
            except TypeError as expected:
                raise SupervisorError(
                    f"Expected {name!r} to be {expected}, got {value!r}."
                ) from None

        return cls(
            supervisor_pid=read("supervisor_pid", _integer),
            supervisor_start_ticks=read("supervisor_start_ticks", _integer),
            child_pid=read("child_pid", _optional(_integer)),
            pgid=read("pgid", _optional(_integer)),
            started_at=read("started_at", _number),
            argv=read("argv", _strings),
            cwd=Path(read("cwd", _string)),
            ended_at=read("ended_at", _optional(_number)),
            exit_code=read("exit_code", _optional(_integer)),
            signal=read("signal", _optional(_integer)),
            stopped=read("stopped", _optional(_boolean)) or False,
            error=read("error", _optional(_string)),
        )


# Converters for the fields of state.json; a TypeError says what was expected.


def _integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError("an integer")


def _number(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError("a number")


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError("true or false")


def _string(value: object) -> str:
    if isinstance(value, str):
        return value
    raise TypeError("a string")


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TypeError("a list of strings")


def _optional(convert: Callable[[object], T]) -> Callable[[object], T | None]:
    def optional(value: object) -> T | None:
        try:
            return None if value is None else convert(value)
        except TypeError as expected:
            raise TypeError(f"{expected} or null") from None

    return optional


# Reading state


def read_state(run_dir: Path) -> SupervisorState | None:
    """The state the supervisor last recorded in run_dir, or None before it started."""
    path = run_dir / STATE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return parse_state(text, str(path))


def parse_state(text: str, path: str) -> SupervisorState:
    """The state in the text of a state.json (read here or on an SSH host)."""
    try:
        return SupervisorState.from_json(json.loads(text))
    except (ValueError, SupervisorError) as error:
        raise SupervisorError(f"Cannot read {path}: {error}") from error


def start_ticks(pid: int) -> int | None:
    """When a process started (field 22 of /proc/<pid>/stat); None once it exited."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return parse_start_ticks(data)


def parse_start_ticks(stat: bytes) -> int | None:
    """Field 22 of the contents of a /proc/<pid>/stat; None for an exited process."""
    # Fields after the command name, which is in parentheses and may contain ") ".
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X", b"x"):
        return None  # exited; only its parent has yet to reap it
    return int(fields[19])


def is_alive(state: SupervisorState) -> bool:
    """Whether the supervisor that wrote state is still running."""
    return start_ticks(state.supervisor_pid) == state.supervisor_start_ticks


def request_stop(state: SupervisorState) -> bool:
    """Ask the supervisor to stop its command (SIGTERM); False if it is already gone."""
    # A pidfd pins the process: once its identity is checked, the signal cannot reach
    # a newcomer that reused the pid in between.
    try:
        pidfd = os.pidfd_open(state.supervisor_pid)
    except ProcessLookupError:
        return False
    try:
        if not is_alive(state):
            return False
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)
    return True


async def wait_ended(run_dir: Path, timeout: float) -> SupervisorState:
    """Wait until the supervisor in run_dir records the end of its command.

    Raises TimeoutError after timeout seconds, and SupervisorError when the supervisor
    is gone without having recorded the end (it was killed, say).
    """
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(run_dir)
        if state is None:
            raise SupervisorError(f"Expected a supervised run in {run_dir}, found none.")
        if state.ended:
            return state
        if not is_alive(state):
            return _final_state_of_dead_supervisor(run_dir)
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{run_dir}: still running after {timeout} s")
        await asyncio.sleep(POLL_INTERVAL)


def _final_state_of_dead_supervisor(run_dir: Path) -> SupervisorState:
    # It may have written the end just before exiting, after our last read.
    state = read_state(run_dir)
    if state is not None and state.ended:
        return state
    raise SupervisorError(
        f"The supervisor in {run_dir} is gone without recording how its command ended."
    )


# Starting


def supervisor_command(
    run_dir: Path | str,
    argv: list[str],
    cwd: Path | str,
    grace: float,
    *,
    python: str = sys.executable,
    script: str | None = None,
) -> list[str]:
    """The command line that starts argv under a detached supervisor.

    python and script are where they are on the host that runs it (by default this
    machine's interpreter and SUPERVISOR_SCRIPT). The supervisor refuses to start
    with less than MIN_FREE_BYTES free.
    """
    # -I: the command's environment must not steer the supervisor's own Python
    # (PYTHONPATH, PYTHONHOME, user site-packages). -S: it needs the standard library
    # only, so site-packages and their .pth hooks stay out of it.
    options = {"--dir": run_dir, "--cwd": cwd, "--grace": grace, "--min-free": MIN_FREE_BYTES}
    flags = [str(part) for option in options.items() for part in option]
    script = script or str(SUPERVISOR_SCRIPT)
    return [python, "-I", "-S", script, "--detach", *flags, "--", *argv]


def spawn_supervised(
    run_dir: Path,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    grace: float = 10.0,
    start_timeout: float = 30.0,
) -> SupervisorState:
    """Start argv under a supervisor that outlives the server; return its first state.

    env is the command's whole environment. When argv cannot be started the state
    has already ended, with exit_code 127 (or 126) and the reason in error.
    """
    _prepare(run_dir)
    launcher = subprocess.Popen(
        supervisor_command(run_dir, argv, cwd, grace),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = launcher.communicate(timeout=start_timeout)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
        raise _start_timeout(run_dir, start_timeout) from None
    return _started_state(run_dir, launcher.returncode, stderr)


async def spawn_supervised_async(
    run_dir: Path,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    grace: float = 10.0,
    start_timeout: float = 30.0,
) -> SupervisorState:
    """spawn_supervised for the event loop: the same, without blocking it."""
    _prepare(run_dir)
    launcher = await asyncio.create_subprocess_exec(
        *supervisor_command(run_dir, argv, cwd, grace),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = await asyncio.wait_for(launcher.communicate(), start_timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            launcher.kill()
        await launcher.wait()
        raise _start_timeout(run_dir, start_timeout) from None
    assert launcher.returncode is not None
    return _started_state(run_dir, launcher.returncode, stderr)


def _prepare(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SupervisorError(
            f"Cannot make the run directory {run_dir}: {error.strerror}"
        ) from None
    if (run_dir / STATE_FILE).exists():
        raise SupervisorError(f"Expected a fresh run directory, {run_dir} holds a run.")


def _started_state(run_dir: Path, returncode: int, stderr: bytes) -> SupervisorState:
    # The launcher exits once state.json exists or the supervisor has died.
    state = read_state(run_dir)
    if state is not None:
        return state
    details = stderr.decode(errors="replace").strip()
    log = run_dir / "supervisor.log"
    if log.exists():
        details = "\n".join(filter(None, [details, log.read_text(errors="replace")]))
    raise not_started(run_dir, returncode, details)


def not_started(
    run_dir: Path | str, status: int | None, details: str, where: str = ""
) -> SupervisorError:
    """The error for a supervisor that ended before starting its command: why first."""
    reason = details.strip()[-2000:] or "no message"
    return SupervisorError(
        f"The supervisor{where} did not start the command: {reason} "
        f"(exit status {status}, run directory {run_dir})"
    )


def _start_timeout(run_dir: Path, timeout: float) -> SupervisorError:
    return SupervisorError(
        f"The supervisor did not start the command in {run_dir} within {timeout} s."
    )
