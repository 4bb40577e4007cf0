"""What the domain asks of the machine a workspace lives on: the WorkspaceHost protocol.

Two implementations: LocalHost (providers/local.py: GitPython and local processes)
and SshHost (providers/ssh_host.py: the same over an SSH connection). Paths are
strings in the host's own filesystem. Run directories are named by an operation's
log path ("<workspace id>/<operation id>"); each host keeps them where it keeps its
files, and the server's own copy of the logs is always under the data directory,
so log readers and subscriptions never need to know where a command ran.

Git failures raise git.GitError with git's message on both hosts; an SSH host adds
the errors of providers/ssh.py (unreachable, host key refused, ...).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from worksite.providers.git import WorktreeState
from worksite.providers.ssh import HostUnreachable
from worksite.runtime.logs import LogChunk
from worksite.runtime.processes import SupervisorError, SupervisorState

# supervisor.py needs this Python on the host.
PYTHON_NEEDED = (3, 9)


@dataclass(frozen=True)
class HostFacts:
    """What a host offers that workspaces need."""

    git: str | None  # `git --version`, None when there is no git
    python: str | None  # "3.11 (/usr/bin/python3.11)", None when there is no python3
    python_ok: bool  # at least PYTHON_NEEDED
    root_exists: bool
    root_writable: bool
    # `timeout` (coreutils), which ends commands that overrun on the host.
    time_limits: bool = True


class WorkspaceHost(Protocol):
    """A machine that holds repositories, worktrees and supervised commands."""

    @property
    def label(self) -> str:
        """Where this is, for messages: "this machine" or "deploy@build-1:22"."""
        ...

    @property
    def root(self) -> str:
        """The directory workspaces are made in."""
        ...

    @property
    def address(self) -> str:
        """The host's address as clients of its services use it."""
        ...

    @property
    def poll_interval(self) -> float:
        """Seconds between looks at a running command's state."""
        ...

    async def inspect(self) -> HostFacts:
        """What the host offers: git, python3 and the root directory."""
        ...

    # Repositories and worktrees

    async def repository(self, repo_url: str, checkout: str) -> str:
        """The repository worktrees are made from: `checkout` if it is one, else a
        clone of `repo_url` made once and kept."""
        ...

    async def resolve_commit(self, repo: str, ref: str) -> str: ...

    async def free_branch(self, repo: str, wanted: str) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`... if a branch of that name exists."""
        ...

    async def branch_exists(self, repo: str, branch: str) -> bool: ...

    async def current_branch(self, path: str) -> str | None: ...

    async def free_worktree_path(self, project_key: str, branch: str) -> str:
        """A directory under the root, named after the branch, that does not exist."""
        ...

    async def add_worktree(self, repo: str, path: str, branch: str, start: str) -> str:
        """Check a new `branch` from `start` out at `path`; returns git's output."""
        ...

    async def restore_worktree(self, repo: str, path: str, branch: str) -> str: ...

    async def worktree_state(
        self, repo: str, path: str, branch: str, base: str
    ) -> WorktreeState: ...

    async def save_work(self, repo: str, path: str, branch: str, ref: str) -> str:
        """Point `ref` at a commit of the branch plus every uncommitted change."""
        ...

    async def remove_worktree(self, repo: str, path: str) -> str: ...

    async def delete_branch_if_merged(self, repo: str, branch: str, base: str) -> str: ...

    async def is_dir(self, path: str) -> bool: ...

    async def real_dir(self, path: str) -> str | None:
        """The path with every symlink resolved, if it is a directory; else None."""
        ...

    # Talking to what runs there

    async def open_tcp(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a port on the host's loopback interface (a service's port).

        ConnectionRefusedError when nothing listens there."""
        ...

    async def run_check(self, command: str, cwd: str, env: dict[str, str], timeout: float) -> int:
        """Run a short shell command (a readiness check) to its exit code; -1 when it
        ran out of time."""
        ...

    async def port_is_free(self, port: int) -> bool:
        """Whether a server could listen on the port there now."""
        ...

    async def port_holder(self, port: int) -> str:
        """Who holds a port that is not free, for a message."""
        ...

    # Supervised commands

    def run_dir(self, log_path: str) -> str:
        """Where the supervisor of the operation with this log path keeps its files."""
        ...

    async def base_env(self) -> dict[str, str]:
        """The variables commands inherit from the host (PATH, HOME, LANG...)."""
        ...

    async def spawn_supervised(
        self, run_dir: str, argv: list[str], cwd: str, env: dict[str, str], grace: float
    ) -> SupervisorState:
        """Start argv under a detached supervisor; its first state (see processes.py)."""
        ...

    async def read_state(self, run_dir: str) -> SupervisorState | None: ...

    async def is_alive(self, state: SupervisorState) -> bool: ...

    async def request_stop(self, state: SupervisorState) -> bool:
        """SIGTERM to the supervisor, if it is still the one; False if it is gone."""
        ...

    async def read_log(self, run_dir: str, offset: int, limit: int) -> LogChunk: ...

    async def mirror_logs(self, run_dir: str, local_dir: Path) -> int:
        """Bring the server's copy of the logs in local_dir up to date with run_dir;
        the number of bytes of output copied."""
        ...


async def wait_ended(
    host: WorkspaceHost,
    run_dir: str,
    timeout: float,
    copy_to: Path | None = None,
    patience: float = 0.0,
) -> SupervisorState:
    """Wait until the supervisor in run_dir records the end of its command.

    With copy_to, the server's copy of the logs is kept current meanwhile and is
    complete on return. A host that cannot be reached is asked again for up to
    `patience` seconds (the command goes on there meanwhile), then HostUnreachable.
    TimeoutError after timeout seconds; SupervisorError when the supervisor is gone
    without recording the end (it was killed, say).
    """
    deadline = time.monotonic() + timeout
    lost_at: float | None = None
    while True:
        try:
            if copy_to is not None:
                await host.mirror_logs(run_dir, copy_to)
            state = await _ended_state(host, run_dir)
        except HostUnreachable:
            lost_at = lost_at or time.monotonic()
            if time.monotonic() - lost_at >= patience:
                raise
            state = None
        else:
            lost_at = None
        if state is not None:
            if copy_to is not None:
                await host.mirror_logs(run_dir, copy_to)
            return state
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{run_dir}: still running after {timeout} s")
        await asyncio.sleep(host.poll_interval)


async def _ended_state(host: WorkspaceHost, run_dir: str) -> SupervisorState | None:
    """The final state once the command has ended; None while it runs."""
    state = await host.read_state(run_dir)
    if state is None:
        raise SupervisorError(f"Expected a supervised run in {run_dir}, found none.")
    if state.ended:
        return state
    if await host.is_alive(state):
        return None
    # It may have written the end just before exiting, after our read.
    final = await host.read_state(run_dir)
    if final is not None and final.ended:
        return final
    raise SupervisorError(
        f"The supervisor in {run_dir} on {host.label} is gone without recording how "
        "its command ended."
    )
