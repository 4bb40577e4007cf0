"""Supervise one command: own its whole process tree, log its output, record its end.

    python3 supervisor.py --dir RUN_DIR --cwd CWD [--grace SECONDS] [--detach] -- ARGV...

Standard library only, Linux, Python 3.9 or later: the server also copies this file to
SSH hosts and runs it there.

The supervisor makes itself a child subreaper, so every descendant that gets orphaned (a
grandchild that calls setsid, a double-forked daemon) is reparented to it and stays
within reach. It starts ARGV in a new session, in CWD, with stdin on /dev/null and the
environment it was given, and writes into RUN_DIR:

    stdout.log, stderr.log   the raw bytes of each stream
    output.log               both streams interleaved in arrival order
    output.idx               "<offset in output.log> <stdout|stderr>" whenever output.log
                             switches stream; each line is written before the bytes it
                             labels, so a reader that read output.log up to N and then
                             output.idx can label every byte below N
    state.json               replaced atomically when ARGV has started and again when
                             everything has ended (see Supervisor.state)
    supervisor.log           with --detach only: the supervisor's own stdout and stderr
    .space-reserve           16 KiB kept while ARGV runs, given back when the disk is
                             full (for the marker below) and at the end (for state.json)

When the disk is full, the logs stop with the line
"[worksite: log truncated: no space left on device]" on stderr (if even the reserve's
room does not hold it, they just stop); further output is read and dropped, so the
command goes on. Every few seconds the supervisor looks at the free space again; once
there is plenty (someone cleaned up), logging resumes with a line on stderr that says
how many bytes were dropped.

SIGTERM or SIGINT stops the command: SIGTERM to its process group and to every other
descendant, up to --grace seconds for them to exit, then SIGKILL to whatever remains.
When ARGV exits on its own, leftover descendants get the same sweep, so nothing the
command started outlives the supervisor. The supervisor exits 0 once it has written
the final state, also when ARGV could not be started (exit_code 127, or 126 when it
is not executable, and an "error" message in state.json and stderr.log).

With --detach the supervisor forks into a session of its own, and the process that
launched it exits as soon as state.json exists (status 0) or the supervisor has died
without writing it (status 1), so a launcher can wait for it without waiting for ARGV.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import json
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

STATE_FILE = "state.json"
# Room kept free for the marker line of a full disk and the final state.json.
RESERVE_FILE = ".space-reserve"
RESERVE_BYTES = 16 * 1024
TRUNCATED = b"[worksite: log truncated: no space left on device]\n"
RESUMED = "[worksite: log resumed; {} bytes of output were dropped while the disk was full]\n"
# Free space at which dropped output is logged again, and how often it is looked at.
RESUME_FREE_BYTES = 64 * 1024 * 1024
RESUME_CHECK_INTERVAL = 5.0
PR_SET_CHILD_SUBREAPER = 36
READ_SIZE = 64 * 1024
# How often the tree is looked up in /proc while it is being stopped.
SWEEP_POLL = 0.05
# After SIGKILL, how long to wait for processes stuck in uninterruptible sleep.
KILL_PATIENCE = 10.0
# Once the tree is gone, how long to wait for EOF on pipes that something outside the
# tree may still hold (a descendant that passed its stdout to an unrelated process).
DRAIN_PATIENCE = 5.0


def parse_args(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="supervisor.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="run directory")
    parser.add_argument("--cwd", required=True, help="working directory of ARGV")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds")
    parser.add_argument("--detach", action="store_true", help="fork into the background")
    parser.add_argument(
        "--min-free", type=int, default=0, help="bytes the run directory's disk must have free"
    )
    if "--" not in args:
        parser.error("expected '-- ARGV...' after the options")

    split = args.index("--")
    options = parser.parse_args(args[:split])
    options.argv = args[split + 1 :]
    if not options.argv:
        parser.error("expected a command after '--'")
    return options


# /proc


class Proc(NamedTuple):
    pid: int
    ppid: int
    pgid: int
    state: str


def read_stat(pid: int | str) -> list[str] | None:
    """Fields 3 and up of /proc/<pid>/stat (those after the command name), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain ") ".
    return data[data.rindex(b")") + 2 :].decode().split()


def start_ticks(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat: when the process started, in clock ticks."""
    fields = read_stat(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return int(fields[19])


def live_descendants(root: int) -> list[Proc]:
    """Every descendant of root that has not exited, found through the ppid links."""
    children: dict[int, list[Proc]] = {}
    for name in os.listdir("/proc"):
        fields = read_stat(name) if name.isdigit() else None
        if fields is not None:
            proc = Proc(int(name), int(fields[1]), int(fields[2]), fields[0])
            children.setdefault(proc.ppid, []).append(proc)

    found: list[Proc] = []
    parents = [root]
    while parents:
        for proc in children.get(parents.pop(), []):
            found.append(proc)
            parents.append(proc.pid)
    # A zombie's own children were reparented when it exited, so skipping zombies
    # loses nobody; the zombies themselves are ours to reap or their live parent's.
    return [proc for proc in found if proc.state not in ("Z", "X", "x")]


def initial_environment() -> dict[bytes, bytes]:
    """The environment this process was started with, exactly.

    Python adds LC_CTYPE to os.environ when it starts under the C locale (PEP 538),
    even with -I; /proc/self/environ still holds what the launcher passed.
    """
    try:
        with open("/proc/self/environ", "rb") as file:
            entries = file.read().split(b"\0")
    except OSError:
        return dict(os.environb)
    pairs = (entry.partition(b"=") for entry in entries if b"=" in entry)
    return {name: value for name, _, value in pairs}


def enable_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(errno)}")


def write_json_atomically(path: Path, data: dict[str, object]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w") as file:
        json.dump(data, file, indent=2)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


# Output


class Logs:
    """The output files of a run. Every chunk reaches the files before the next read.

    When the disk fills up, the logs stop where they are: a marker line (written in
    the room a small reserve file gives back) says so, and later output is read and
    dropped, so the command runs on without blocking on a full pipe. Once free_bytes()
    reports resume_free_bytes or more, logging resumes with a line that counts what
    was dropped, and the reserve is made again.
    """

    def __init__(
        self,
        stdout: IO[bytes],
        stderr: IO[bytes],
        output: IO[bytes],
        index: IO[bytes],
        run_dir: Path | None = None,
        free_bytes: Callable[[], int] | None = None,
        resume_free_bytes: int = RESUME_FREE_BYTES,
    ) -> None:
        self.streams = {"stdout": stdout, "stderr": stderr}
        self.output = output
        self.index = index
        self.run_dir = run_dir
        self.reserve = make_reserve(run_dir) if run_dir is not None else None
        self.free_bytes = free_bytes or self._free_bytes
        self.resume_free_bytes = resume_free_bytes
        self.offset = 0
        self.current_stream: str | None = None
        self.ends_line = True
        self.truncated = False
        self.dropped = 0
        self.next_check = 0.0

    def write(self, stream: str, data: bytes) -> None:
        if self.truncated and not self._room_again():
            self.dropped += len(data)
            return
        offset = self.offset
        try:
            if self.truncated:
                self._resume()
                offset = self.offset
            self._write(stream, data)
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            landed = self.truncate() - offset
            self.dropped += max(0, len(data) - landed)

    def _write(self, stream: str, data: bytes) -> None:
        write_all(self.streams[stream], data)
        if stream != self.current_stream:
            write_all(self.index, f"{self.offset} {stream}\n".encode())
            self.current_stream = stream
        write_all(self.output, data)
        self.offset += len(data)
        self.ends_line = data.endswith(b"\n")

    def truncate(self) -> int:
        """Stop logging, with a marker line on stderr if it fits.

        Returns the size output.log had before the marker: bytes of a partial write
        may have landed, and the file says where we are.
        """
        self.truncated = True
        self.next_check = time.monotonic() + RESUME_CHECK_INTERVAL
        self.release_reserve()
        with contextlib.suppress(OSError):
            size = os.fstat(self.output.fileno()).st_size
            if size != self.offset:
                # Part of a chunk landed; take it to end mid-line (rarely a blank line).
                self.offset, self.ends_line = size, False
        landed = self.offset
        with contextlib.suppress(OSError):
            self._write("stderr", TRUNCATED if self.ends_line else b"\n" + TRUNCATED)
        return landed

    def _room_again(self) -> bool:
        now = time.monotonic()
        if now < self.next_check:
            return False
        self.next_check = now + RESUME_CHECK_INTERVAL
        try:
            return self.free_bytes() >= self.resume_free_bytes
        except OSError:
            return False

    def _resume(self) -> None:
        self.truncated = False
        notice = RESUMED.format(self.dropped).encode()
        self._write("stderr", notice if self.ends_line else b"\n" + notice)
        self.dropped = 0
        if self.reserve is None and self.run_dir is not None:
            self.reserve = make_reserve(self.run_dir)

    def _free_bytes(self) -> int:
        stats = os.fstatvfs(self.output.fileno())
        return stats.f_bavail * stats.f_frsize

    def release_reserve(self) -> None:
        if self.reserve is not None:
            with contextlib.suppress(OSError):
                self.reserve.unlink()
            self.reserve = None


def write_all(file: IO[bytes], data: bytes) -> None:
    """Write data to an unbuffered file; OSError (a full disk, say) if it cannot."""
    view = memoryview(data)
    while view:
        written = file.write(view)
        view = view[written or 0 :]


def make_reserve(run_dir: Path) -> Path | None:
    """A small file whose room the marker of a full disk takes back; None if no room."""
    path = run_dir / RESERVE_FILE
    try:
        with open(path, "wb", buffering=0) as file:
            write_all(file, bytes(RESERVE_BYTES))
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return path


@contextlib.contextmanager
def open_logs(run_dir: Path) -> Iterator[Logs]:
    names = ("stdout.log", "stderr.log", "output.log", "output.idx")
    with contextlib.ExitStack() as stack:
        stdout, stderr, output, index = (
            stack.enter_context(open(run_dir / name, "wb", buffering=0)) for name in names
        )
        logs = Logs(stdout, stderr, output, index, run_dir=run_dir)
        try:
            yield logs
        finally:
            logs.release_reserve()


class Signals:
    """Turns signals into readable bytes on a pipe, so one select() waits for all."""

    def __init__(self) -> None:
        self.wakeup_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        self.stop_requested = False
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        # Only a handled SIGCHLD reaches the wakeup pipe; the default one is discarded.
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def _request_stop(self, signum: int, frame: object) -> None:
        self.stop_requested = True

    def drain(self) -> None:
        try:
            while os.read(self.wakeup_fd, 1024):
                pass
        except BlockingIOError:
            pass


# Supervision


class Supervisor:
    def __init__(self, options: argparse.Namespace, logs: Logs, signals: Signals):
        self.run_dir: Path = options.dir
        self.argv: list[str] = options.argv
        self.cwd: str = options.cwd
        self.grace: float = options.grace
        self.logs = logs
        self.signals = signals

        self.pid = os.getpid()
        self.start_ticks = start_ticks(self.pid)
        self.started_at = time.time()
        self.child: subprocess.Popen[bytes] | None = None
        self.pipes: dict[int, tuple[str, IO[bytes]]] = {}  # by fd: stream name, file
        self.selector = selectors.DefaultSelector()
        self.selector.register(signals.wakeup_fd, selectors.EVENT_READ)

        self.status: int | None = None  # wait status of ARGV once reaped
        self.stopped = False
        self.failed_start_code: int | None = None
        self.error: str | None = None
        self.sweep_started = False
        self.kill_at = 0.0
        self.next_look = 0.0
        self.tree_gone = False
        self.drain_until = 0.0

    # Start

    def launch(self) -> bool:
        """Start ARGV and record it; or record why it could not start."""
        try:
            enable_subreaper()
            self.start()
        except OSError as error:
            self.error = f"cannot start {shlex.join(self.argv)} in {self.cwd}: {error}"
            self.logs.write("stderr", f"supervisor: {self.error}\n".encode())
            self.failed_start_code = 126 if isinstance(error, PermissionError) else 127
            self.write_state(ended=True)
            return False
        return True

    def start(self) -> None:
        self.child = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=initial_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.started_at = time.time()
        assert self.child.stdout is not None and self.child.stderr is not None
        for stream, file in (
            ("stdout", self.child.stdout),
            ("stderr", self.child.stderr),
        ):
            self.pipes[file.fileno()] = (stream, file)
            self.selector.register(file.fileno(), selectors.EVENT_READ)
        self.write_state()

    # Run

    def run(self) -> None:
        """Supervise ARGV to the end and record it, even if the supervisor fails."""
        try:
            self.supervise()
        except BaseException as error:
            self.abort(error)
            raise
        self.write_state(ended=True)

    def supervise(self) -> None:
        """Run until ARGV and every descendant have ended and the pipes are drained."""
        while not (self.tree_gone and not self.pipes):
            self.pump()
            self.reap()
            if not self.sweep_started:
                if self.signals.stop_requested or self.status is not None:
                    self.begin_sweep()
            elif not self.tree_gone:
                self.continue_sweep()
            elif time.monotonic() >= self.drain_until:
                self.close_pipes()

    def pump(self) -> None:
        """Wait for output or a signal, and copy whatever output has arrived."""
        if not self.sweep_started:
            timeout = 1.0
        elif not self.tree_gone:
            timeout = max(0.0, self.next_look - time.monotonic())
        else:
            timeout = max(0.0, self.drain_until - time.monotonic())

        for key, _ in self.selector.select(timeout):
            if key.fd == self.signals.wakeup_fd:
                self.signals.drain()
                continue
            data = os.read(key.fd, READ_SIZE)
            if data:
                self.logs.write(self.pipes[key.fd][0], data)
            else:
                self.close_pipe(key.fd)

    def reap(self) -> None:
        """Collect every child that has exited: ARGV, and whatever was reparented to us."""
        assert self.child is not None
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child.pid:
                self.status = status
                self.stopped = self.signals.stop_requested
                self.child.returncode = os.waitstatus_to_exitcode(status)

    # Stop

    def begin_sweep(self) -> None:
        self.sweep_started = True
        self.kill_at = time.monotonic() + self.grace
        self.signal_tree(signal.SIGTERM)
        self.next_look = time.monotonic()

    def continue_sweep(self) -> None:
        now = time.monotonic()
        if now < self.next_look:
            return
        self.next_look = now + SWEEP_POLL

        remaining = live_descendants(self.pid)
        if not remaining:
            self.reap()
            self.tree_gone = True
            self.drain_until = now + DRAIN_PATIENCE
        elif now >= self.kill_at + KILL_PATIENCE:
            pids = " ".join(str(proc.pid) for proc in remaining)
            self.error = f"processes {pids} survived SIGKILL"
            self.tree_gone = True
            self.drain_until = now
        elif now >= self.kill_at:
            # Repeated on every look: a process may have forked just before its kill.
            self.signal_tree(signal.SIGKILL)

    def signal_tree(self, signum: int) -> None:
        """Send signum to ARGV's process group and to every other live descendant."""
        assert self.child is not None
        # Until ARGV is reaped its zombie holds the group id, so it names our group.
        group_signalled = self.status is None
        if group_signalled:
            self.kill(self.child.pid, signum, group=True)

        for proc in live_descendants(self.pid):
            if not (group_signalled and proc.pgid == self.child.pid):
                self.kill(proc.pid, signum)
            # A stopped process would only act on SIGTERM once continued.
            if signum == signal.SIGTERM and proc.state == "T":
                self.kill(proc.pid, signal.SIGCONT)

    @staticmethod
    def kill(pid: int, signum: int, group: bool = False) -> None:
        try:
            if group:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            pass

    def close_pipe(self, fd: int) -> None:
        self.selector.unregister(fd)
        _, file = self.pipes.pop(fd)
        file.close()

    def close_pipes(self) -> None:
        for fd in list(self.pipes):
            self.close_pipe(fd)

    # State

    def state(self, ended: bool) -> dict[str, object]:
        """What state.json holds; the fields after "cwd" only once everything ended."""
        child_pid = self.child.pid if self.child is not None else None
        state: dict[str, object] = {
            "supervisor_pid": self.pid,
            "supervisor_start_ticks": self.start_ticks,
            "child_pid": child_pid,
            "pgid": child_pid,  # ARGV leads a new session, so its group is its pid
            "started_at": self.started_at,
            "argv": self.argv,
            "cwd": self.cwd,
        }
        if not ended:
            return state

        exit_code, signum = self.failed_start_code, None
        if self.status is not None:
            code = os.waitstatus_to_exitcode(self.status)
            exit_code, signum = (code, None) if code >= 0 else (None, -code)
        state.update(
            ended_at=time.time(),
            exit_code=exit_code,
            signal=signum,
            stopped=self.stopped,
        )
        if self.error is not None:
            state["error"] = self.error
        return state

    def write_state(self, ended: bool = False) -> None:
        if ended:
            self.logs.release_reserve()  # on a full disk, the room the state needs
        write_json_atomically(self.run_dir / STATE_FILE, self.state(ended))

    def abort(self, error: BaseException) -> None:
        """After a failure of the supervisor itself: kill the tree, record the error."""
        self.error = f"supervisor failed: {error!r}"
        if self.child is not None:
            self.signal_tree(signal.SIGKILL)
            self.reap()
        self.write_state(ended=True)


# Entry


def detach(run_dir: Path) -> int:
    """Fork into a new session; the launching process exits once the command started.

    Returns, in the supervisor, the pipe end to close once state.json is written.
    """
    ready_read, ready_write = os.pipe()
    if os.fork() != 0:
        os.close(ready_write)
        while os.read(ready_read, 1024):
            pass
        if (run_dir / STATE_FILE).exists():
            os._exit(0)  # at once: the server waits for this exit, and nothing is buffered
        sys.exit(
            f"supervisor.py: the supervisor ended before starting the command; "
            f"see {run_dir / 'supervisor.log'}"
        )

    os.close(ready_read)
    os.setsid()
    # Let go of the launcher's stdio: an SSH channel, say, stays open while held.
    log = os.open(run_dir / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    return ready_write


def run(options: argparse.Namespace, ready_fd: int | None) -> int:
    with open_logs(options.dir) as logs:
        supervisor = Supervisor(options, logs, Signals())
        started = supervisor.launch()
        if ready_fd is not None:
            os.close(ready_fd)
        if started:
            supervisor.run()
    return 0


def close_inherited_descriptors() -> None:
    """Close every descriptor beyond stdio that the launcher passed on.

    Launchers leak them (uvloop's subprocesses do not close them, for one). Kept, a
    leaked one could hold the launcher's own pipe open, or a server's listening
    socket, for as long as the command runs.
    """
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def main(args: list[str]) -> int:
    close_inherited_descriptors()
    options = parse_args(args)
    options.dir.mkdir(parents=True, exist_ok=True)
    if (options.dir / STATE_FILE).exists():
        print(f"supervisor.py: {options.dir} already holds a run", file=sys.stderr)
        return 2
    free = shutil.disk_usage(options.dir).free
    if free < options.min_free:
        print(
            f"the disk of the logs has {free} bytes free; a run needs {options.min_free}"
            " to record its output and how it ends",
            file=sys.stderr,
        )
        return 2

    ready_fd = detach(options.dir) if options.detach else None
    return run(options, ready_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
