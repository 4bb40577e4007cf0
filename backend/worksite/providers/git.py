"""Git operations on this machine, through GitPython (argument lists, no shell).

Every name that reaches git here has passed domain.validation first; refs are
still placed after the options they belong to, never where git reads options.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from git import GitCommandError, Repo
from git.exc import InvalidGitRepositoryError, NoSuchPathError, UnsafeProtocolError

log = logging.getLogger(__name__)


class GitError(Exception):
    """A git command failed; the message is git's own, trimmed."""


def open_repository(path: Path) -> Repo | None:
    try:
        return Repo(path, search_parent_directories=False)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None


def clone_name(url: str) -> str:
    """The directory name of a clone of `url`: its last part and a hash of it all."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])[:40]
    return f"{tail or 'repo'}-{digest}"


def clone_once(url: str, repos_dir: Path) -> Path:
    """Clone `url` into the data dir on first use; later calls return the clone."""
    target = repos_dir / clone_name(url)
    if open_repository(target) is not None:
        return target
    repos_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        # No exotic transports (ext:: runs commands): only what a repo URL means.
        Repo.clone_from(
            url,
            partial,
            multi_options=["--no-checkout"],
            env={"GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh"},
        )
    except UnsafeProtocolError as exc:
        raise GitError(f"could not clone {url}: {exc}") from None
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


# Close: what a worktree holds that is not saved anywhere else, and saving it.


@dataclass(frozen=True)
class WorktreeState:
    exists: bool
    branch: str | None  # what HEAD is on; None when detached or missing
    branch_exists: bool
    modified: int  # tracked files changed, staged or not
    untracked: int  # new files, not ignored
    ahead: int  # commits on the branch that the base does not have
    behind: int  # commits on the base that the branch does not have

    @property
    def dirty(self) -> bool:
        return self.modified > 0 or self.untracked > 0


def worktree_state(repo_path: Path, path: Path, branch: str, base: str) -> WorktreeState:
    repo = Repo(repo_path)
    has_branch = branch_exists(repo_path, branch)
    ahead = behind = 0
    if has_branch and base:
        try:
            counts = repo.git.rev_list("--left-right", "--count", f"{base}...refs/heads/{branch}")
            behind, ahead = (int(n) for n in counts.split())
        except GitCommandError:
            pass  # the base vanished; ahead/behind cannot be told
    if not path.is_dir() or open_repository(path) is None:
        return WorktreeState(False, None, has_branch, 0, 0, ahead, behind)
    status = Repo(path).git.status("--porcelain=v1", "-z", "--untracked-files=all")
    entries = [e for e in status.split("\0") if len(e) > 3]
    untracked = sum(1 for e in entries if e.startswith("??"))
    return WorktreeState(
        True,
        current_branch(path),
        has_branch,
        len(entries) - untracked,
        untracked,
        ahead,
        behind,
    )


def save_work(repo_path: Path, path: Path, branch: str, ref: str) -> str:
    """Point `ref` at a commit holding the branch plus every uncommitted change.

    Tracked and untracked files (not ignored) go into a commit whose parent is the
    branch head, built in a private index so the worktree is left as it was.
    Restore with `git checkout <ref> -- <file>` or `git switch -c <name> <ref>`.
    """
    if path.is_dir() and open_repository(path) is not None:
        worktree = Repo(path)
        index = Path(worktree.git.rev_parse("--git-dir")) / "worksite-save.index"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            worktree.git.read_tree("HEAD", env=env)
            worktree.git.add("--all", env=env)
            tree = worktree.git.write_tree(env=env)
            head = worktree.git.rev_parse("HEAD")
            commit = worktree.git.commit_tree(
                tree, "-p", head, "-m", f"Worksite: work saved from {branch} before close"
            )
        finally:
            index.unlink(missing_ok=True)
    else:
        commit = Repo(repo_path).git.rev_parse("--verify", f"refs/heads/{branch}")
    Repo(repo_path).git.update_ref(ref, commit)
    return str(commit)


def remove_worktree(repo_path: Path, path: Path) -> str:
    repo = Repo(repo_path)
    if path.exists():
        repo.git.worktree("remove", "--force", str(path))
        return f"removed {path}"
    repo.git.worktree("prune")
    return f"{path} was already gone; pruned git's record of it"


def delete_branch_if_merged(repo_path: Path, branch: str, base: str) -> str:
    repo = Repo(repo_path)
    if not branch_exists(repo_path, branch):
        return f"branch {branch} is already gone"
    try:
        repo.git.merge_base("--is-ancestor", f"refs/heads/{branch}", base)
    except GitCommandError:
        return f"kept branch {branch}: it is not merged into {base}"
    repo.git.branch("-D", "--end-of-options", branch)
    return f"deleted branch {branch} (merged into {base})"
