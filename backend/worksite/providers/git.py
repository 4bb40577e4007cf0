"""Git operations on this machine, through GitPython (argument lists, no shell).

Every name that reaches git here has passed domain.validation first; refs are
still placed after the options they belong to, never where git reads options.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from git import GitCommandError, Repo
from git.exc import InvalidGitRepositoryError, NoSuchPathError

log = logging.getLogger(__name__)


class GitError(Exception):
    """A git command failed; the message is git's own, trimmed."""


def open_repository(path: Path) -> Repo | None:
    try:
        return Repo(path, search_parent_directories=False)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None


def clone_once(url: str, repos_dir: Path) -> Path:
    """Clone `url` into the data dir on first use; later calls return the clone."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])[:40]
    target = repos_dir / f"{tail or 'repo'}-{digest}"
    if open_repository(target) is not None:
        return target
    repos_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        Repo.clone_from(url, partial, multi_options=["--no-checkout"])
    except GitCommandError as exc:
        raise GitError(f"could not clone {url}: {_stderr(exc)}") from None
    partial.rename(target)
    log.info("cloned %s into %s", url, target)
    return target


def resolve_commit(repo_path: Path, ref: str) -> str:
    """The commit `ref` names, fetching from origin once if it is not known yet."""
    repo = Repo(repo_path)
    ref = ref or "HEAD"
    for attempt in range(2):
        try:
            return str(repo.git.rev_parse("--verify", "--end-of-options", f"{ref}^{{commit}}"))
        except GitCommandError:
            if attempt or not repo.remotes:
                break
            try:
                repo.git.fetch("--quiet", "origin")
            except GitCommandError as exc:
                raise GitError(f"could not fetch origin: {_stderr(exc)}") from None
    raise GitError(f"the ref {ref!r} does not name a commit in {repo_path}")


def branch_exists(repo_path: Path, branch: str) -> bool:
    repo = Repo(repo_path)
    try:
        repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{branch}")
    except GitCommandError:
        return False
    return True


def add_worktree(repo_path: Path, path: Path, branch: str, start: str) -> str:
    """Create `path` checked out on a new `branch` from `start`; returns git's output."""
    repo = Repo(repo_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return str(repo.git.worktree("add", "-b", branch, str(path), start))
    except GitCommandError as exc:
        raise GitError(f"git worktree add failed: {_stderr(exc)}") from None


def restore_worktree(repo_path: Path, path: Path, branch: str) -> str:
    """Check an existing `branch` out again at `path` (after the directory vanished)."""
    repo = Repo(repo_path)
    repo.git.worktree("prune")
    try:
        return str(repo.git.worktree("add", str(path), branch))
    except GitCommandError as exc:
        raise GitError(f"git worktree add failed: {_stderr(exc)}") from None


def current_branch(path: Path) -> str | None:
    repo = open_repository(path)
    if repo is None or repo.head.is_detached:
        return None
    return repo.active_branch.name


def _stderr(exc: GitCommandError) -> str:
    text = (exc.stderr or str(exc)).strip()
    return text.removeprefix("stderr:").strip().strip("'").strip()[:2000]
