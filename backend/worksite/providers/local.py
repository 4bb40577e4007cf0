"""Workspaces on this machine: repositories and git worktrees under the sandbox."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from worksite.providers import git
from worksite.providers.host import PYTHON_NEEDED, HostFacts
from worksite.runtime import logs, ports, processes, readiness
from worksite.settings import Settings

# Variables a command may inherit from the server; nothing else (no tokens, no URLs).
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "TMPDIR")

# One clone per URL at a time; worktree creation itself is safe to run in parallel.
_clone_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


async def repository(settings: Settings, repo_url: str, checkout: str) -> Path:
    """The repository worktrees are made from: the checkout, else a clone of the URL."""
    if checkout and git.open_repository(Path(checkout)) is not None:
        return Path(checkout)
    if not repo_url:
        raise git.GitError(f"{checkout or 'the project workspace'} is not a git repository")
    async with _clone_locks[repo_url]:
        return await asyncio.to_thread(git.clone_once, repo_url, settings.repos_dir)


def worktree_path(root: Path, project_key: str, branch: str) -> Path:
    """A free directory under `root` named after the branch."""
    base = root / project_key / branch.replace("/", "-")
    candidate, suffix = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{suffix}")
        suffix += 1
    return candidate


def free_branch(repo: Path, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`... if a branch of that name exists."""
    candidate, suffix = wanted, 2
    while git.branch_exists(repo, candidate):
        candidate = f"{wanted}-{suffix}"
        suffix += 1
    return candidate


class LocalHost:
    """This machine as a WorkspaceHost: GitPython in threads, local supervisors."""

    label = "this machine"
    address = "127.0.0.1"
    poll_interval = 0.05

    def __init__(self, settings: Settings, root: str | None = None) -> None:
        self.settings = settings
        self.root = root or str(settings.sandbox_dir)

    async def inspect(self) -> HostFacts:
        git_version = None
        if shutil.which("git"):
            found = await asyncio.to_thread(
                subprocess.run,
                ["git", "--version"],
                capture_output=True,
                text=True,
                check=False,
            )
            git_version = found.stdout.strip() or None
        root = Path(self.root)
        return HostFacts(
            git=git_version,
            python=f"{sys.version_info[0]}.{sys.version_info[1]} ({sys.executable})",
            python_ok=sys.version_info[:2] >= PYTHON_NEEDED,
            root_exists=root.is_dir(),
            root_writable=root.is_dir() and os.access(root, os.W_OK),
        )

    # Repositories and worktrees

    async def repository(self, repo_url: str, checkout: str) -> str:
        return str(await repository(self.settings, repo_url, checkout))

    async def resolve_commit(self, repo: str, ref: str) -> str:
        return await asyncio.to_thread(git.resolve_commit, Path(repo), ref)

    async def free_branch(self, repo: str, wanted: str) -> str:
        return await asyncio.to_thread(free_branch, Path(repo), wanted)

    async def branch_exists(self, repo: str, branch: str) -> bool:
        return await asyncio.to_thread(git.branch_exists, Path(repo), branch)

    async def current_branch(self, path: str) -> str | None:
        return await asyncio.to_thread(git.current_branch, Path(path))

    async def free_worktree_path(self, project_key: str, branch: str) -> str:
        return str(worktree_path(Path(self.root), project_key, branch))

    async def add_worktree(self, repo: str, path: str, branch: str, start: str) -> str:
        return await asyncio.to_thread(git.add_worktree, Path(repo), Path(path), branch, start)

    async def restore_worktree(self, repo: str, path: str, branch: str) -> str:
        return await asyncio.to_thread(git.restore_worktree, Path(repo), Path(path), branch)

    async def worktree_state(
        self, repo: str, path: str, branch: str, base: str
    ) -> git.WorktreeState:
        return await asyncio.to_thread(git.worktree_state, Path(repo), Path(path), branch, base)

    async def save_work(self, repo: str, path: str, branch: str, ref: str) -> str:
        return await asyncio.to_thread(git.save_work, Path(repo), Path(path), branch, ref)

    async def remove_worktree(self, repo: str, path: str) -> str:
        return await asyncio.to_thread(git.remove_worktree, Path(repo), Path(path))

    async def delete_branch_if_merged(self, repo: str, branch: str, base: str) -> str:
        return await asyncio.to_thread(git.delete_branch_if_merged, Path(repo), branch, base)

    async def is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    async def real_dir(self, path: str) -> str | None:
        try:
            real = Path(path).resolve(strict=True)
        except OSError:
            return None
        return str(real) if real.is_dir() else None

    # Talking to what runs here

    async def open_tcp(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await readiness.THIS_MACHINE.open_tcp(port)

    async def run_check(self, command: str, cwd: str, env: dict[str, str], timeout: float) -> int:
        return await readiness.THIS_MACHINE.run_check(command, cwd, env, timeout)

    async def port_is_free(self, port: int) -> bool:
        return ports.is_free(port)

    async def port_holder(self, port: int) -> str:
        return ports.holder(port)

    # Supervised commands

    def run_dir(self, log_path: str) -> str:
        return str(self.settings.logs_dir / log_path)

    async def base_env(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        return env

    async def spawn_supervised(
        self, run_dir: str, argv: list[str], cwd: str, env: dict[str, str], grace: float
    ) -> processes.SupervisorState:
        return await processes.spawn_supervised_async(
            Path(run_dir), argv, Path(cwd), env, grace=grace
        )

    async def read_state(self, run_dir: str) -> processes.SupervisorState | None:
        return processes.read_state(Path(run_dir))

    async def is_alive(self, state: processes.SupervisorState) -> bool:
        return processes.is_alive(state)

    async def request_stop(self, state: processes.SupervisorState) -> bool:
        return processes.request_stop(state)

    async def read_log(self, run_dir: str, offset: int, limit: int) -> logs.LogChunk:
        return logs.read(Path(run_dir), offset, limit)

    async def mirror_logs(self, run_dir: str, local_dir: Path) -> int:
        return 0  # the run directory is the server's copy
