"""Workspaces on this machine: repositories and git worktrees under the sandbox."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

from worksite.providers import git
from worksite.settings import Settings

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
