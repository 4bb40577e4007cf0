"""An SSH host as a WorkspaceHost: git and supervised commands over a pooled connection.

Layout under the environment's root directory on the host:

    <root>/<PROJECT KEY>/<branch>         worktrees
    <root>/.worksite/repos/<name>-<hash>  repositories cloned from their URL, once
    <root>/.worksite/runs/<log path>      supervisor run directories (logs, state.json)
    <root>/.worksite/bin/supervisor-<hash>.py   runtime/supervisor.py, uploaded once

Every command is an argument list quoted for the remote shell; the shell scripts
below are constants that read their inputs as positional parameters ("$1"...), so
no value from a client is ever part of a script's text. Files (state, logs, /proc)
are read over SFTP, which starts no process on the host.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from weakref import WeakValueDictionary

from worksite.providers import git
from worksite.providers.host import PYTHON_NEEDED, HostFacts
from worksite.providers.local import PASSED_THROUGH
from worksite.providers.ssh import CommandTimeout, Completed, SshError, SshLink
from worksite.runtime import logs, processes
from worksite.runtime.processes import SupervisorState

SUPERVISOR_SOURCE = processes.SUPERVISOR_SCRIPT.read_bytes()
SUPERVISOR_NAME = f"supervisor-{hashlib.sha256(SUPERVISOR_SOURCE).hexdigest()[:12]}.py"
START_TIMEOUT = 30.0
# Each look at a running command is two SFTP reads, plus the new log bytes.
POLL_INTERVAL = 0.2
GIT_TIMEOUT = 600.0
# The files a supervisor writes that the server keeps a copy of (not state.json,
# which is only ever read where the supervisor runs).
MIRRORED = ("stdout.log", "stderr.log")

# Finds the real interpreter (not a shim) and the variables commands inherit.
PROBE_PYTHON = """
import json, os, sys
print(json.dumps({"python": sys.executable, "version": list(sys.version_info[:2]),
                  "env": {k: os.environ[k] for k in sys.argv[1:] if k in os.environ}}))
"""

# SIGTERM to a supervisor if it is still the process that wrote the state: its pid
# pinned by a pidfd, then its start time checked. Exit 3: it is gone.
STOP_SUPERVISOR = """
import os, signal, sys
pid, ticks = int(sys.argv[1]), int(sys.argv[2])
try:
    fd = os.pidfd_open(pid)
except ProcessLookupError:
    sys.exit(3)
try:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        data = stat.read()
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X", b"x") or int(fields[19]) != ticks:
        sys.exit(3)
    signal.pidfd_send_signal(fd, signal.SIGTERM)
except (ProcessLookupError, FileNotFoundError):
    sys.exit(3)
finally:
    os.close(fd)
"""

# Exit 0 when a server could listen on the port on every address, else 1.
PORT_IS_FREE = """
import errno, socket, sys
port = int(sys.argv[1])
for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        continue
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((address, port))
        except OSError as error:
            if error.errno != errno.EADDRNOTAVAIL:
                sys.exit(1)
"""

CLONE = r"""
url=$1 target=$2
[ -e "$target/.git" ] && exit 0
mkdir -p "$(dirname "$target")" && rm -rf "$target.partial" &&
GIT_ALLOW_PROTOCOL=file:git:http:https:ssh \
  git clone --quiet --no-checkout -- "$url" "$target.partial" && mv "$target.partial" "$target"
"""

RESOLVE_COMMIT = r"""
repo=$1 ref=$2
git -C "$repo" rev-parse --verify --quiet --end-of-options "$ref^{commit}" && exit 0
[ -n "$(git -C "$repo" remote)" ] || exit 3
git -C "$repo" fetch --quiet origin || exit 4
git -C "$repo" rev-parse --verify --quiet --end-of-options "$ref^{commit}" || exit 3
"""

FREE_BRANCH = r"""
repo=$1 wanted=$2 candidate=$2 n=2
while git -C "$repo" rev-parse --verify --quiet "refs/heads/$candidate" >/dev/null; do
  candidate="$wanted-$n" n=$((n + 1))
done
printf '%s\n' "$candidate"
"""

ADD_WORKTREE = r"""
repo=$1 path=$2 branch=$3 start=$4
mkdir -p "$(dirname "$path")" && git -C "$repo" worktree add -b "$branch" "$path" "$start"
"""

RESTORE_WORKTREE = r"""
repo=$1 path=$2 branch=$3
git -C "$repo" worktree prune && git -C "$repo" worktree add "$path" "$branch"
"""

WORKTREE_STATE = r"""
repo=$1 path=$2 branch=$3 base=$4
if git -C "$repo" rev-parse --verify --quiet "refs/heads/$branch" >/dev/null; then
  echo "branch yes"
  if [ -n "$base" ]; then
    counts=$(git -C "$repo" rev-list --left-right --count "$base...refs/heads/$branch" 2>/dev/null) &&
      echo "counts $counts"
  fi
else
  echo "branch no"
fi
if [ -d "$path" ] && [ -e "$path/.git" ]; then
  echo "head $(git -C "$path" symbolic-ref --quiet --short HEAD)"
  git -C "$path" status --porcelain=v1 --untracked-files=all |
    awk '/^\?\?/ { u++; next } { m++ } END { print "files", m + 0, u + 0 }'
fi
"""

SAVE_WORK = r"""
repo=$1 path=$2 branch=$3 ref=$4 message=$5
set -e
if [ -d "$path" ] && [ -e "$path/.git" ]; then
  cd "$path"
  git config user.name >/dev/null || export GIT_AUTHOR_NAME=Worksite GIT_COMMITTER_NAME=Worksite
  git config user.email >/dev/null ||
    export GIT_AUTHOR_EMAIL=worksite@localhost GIT_COMMITTER_EMAIL=worksite@localhost
  index="$(git rev-parse --absolute-git-dir)/worksite-save.index"
  trap 'rm -f "$index"' EXIT
  GIT_INDEX_FILE=$index git read-tree HEAD
  GIT_INDEX_FILE=$index git add --all
  tree=$(GIT_INDEX_FILE=$index git write-tree)
  commit=$(git commit-tree "$tree" -p HEAD -m "$message")
else
  commit=$(git -C "$repo" rev-parse --verify "refs/heads/$branch")
fi
git -C "$repo" update-ref "$ref" "$commit"
printf '%s\n' "$commit"
"""

REMOVE_WORKTREE = r"""
repo=$1 path=$2
if [ -e "$path" ]; then
  git -C "$repo" worktree remove --force "$path" && echo "removed $path"
else
  git -C "$repo" worktree prune && echo "$path was already gone; pruned git's record of it"
fi
"""

DELETE_BRANCH_IF_MERGED = r"""
repo=$1 branch=$2 base=$3
if ! git -C "$repo" rev-parse --verify --quiet "refs/heads/$branch" >/dev/null; then
  echo "branch $branch is already gone"
elif git -C "$repo" merge-base --is-ancestor "refs/heads/$branch" "$base"; then
  git -C "$repo" branch -D --end-of-options "$branch" >/dev/null &&
    echo "deleted branch $branch (merged into $base)"
else
  echo "kept branch $branch: it is not merged into $base"
fi
"""

CURRENT_BRANCH = r"""
[ -e "$1/.git" ] && git -C "$1" symbolic-ref --quiet --short HEAD
"""


@dataclass(frozen=True)
class HostPython:
    """The host's interpreter for supervisor.py, and the variables commands inherit."""

    path: str
    version: tuple[int, int]
    env: dict[str, str]


INSPECT = r"""
root=$1
if command -v git >/dev/null 2>&1; then echo "git $(git --version)"; fi
if command -v timeout >/dev/null 2>&1; then echo "timeout yes"; fi
python3 -I -S -c 'import sys; print("python %d %d %s" % (*sys.version_info[:2], sys.executable))'
if [ -d "$root" ]; then
  if [ -w "$root" ]; then echo "root writable"; else echo "root read-only"; fi
fi
exit 0
"""

# One clone per (host, URL) at a time; a lock lives while someone holds or awaits it.
_clone_locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = WeakValueDictionary()


class SshHost:
    """The host of an SSH environment, reached through its pooled SshLink."""

    poll_interval = POLL_INTERVAL

    def __init__(self, link: SshLink, root: str) -> None:
        self.link = link
        self.root = posixpath.normpath(root)
        self.state_dir = posixpath.join(self.root, ".worksite")

    @property
    def label(self) -> str:
        return self.link.target.label

    @property
    def address(self) -> str:
        return self.link.target.host

    async def inspect(self) -> HostFacts:
        result = await self.link.run(["sh", "-c", INSPECT, "sh", self.root], limit_on_host=False)
        lines = (line.split(" ", 1) for line in result.stdout.splitlines())
        facts = {words[0]: words[1] for words in lines if len(words) == 2}
        python, python_ok = None, False
        if "python" in facts:
            major, minor, path = facts["python"].split(" ", 2)
            python = f"{major}.{minor} ({path})"
            python_ok = (int(major), int(minor)) >= PYTHON_NEEDED
        return HostFacts(
            git=facts.get("git"),
            python=python,
            python_ok=python_ok,
            root_exists="root" in facts,
            root_writable=facts.get("root") == "writable",
            time_limits="timeout" in facts,
        )

    # Repositories and worktrees

    async def repository(self, repo_url: str, checkout: str) -> str:
        if checkout and await self.link.size(posixpath.join(checkout, ".git")) is not None:
            return checkout
        if not repo_url:
            raise git.GitError(
                f"{checkout or 'the project workspace'} is not a git repository on "
                f"{self.label}, and there is no repo URL to clone"
            )
        target = posixpath.join(self.state_dir, "repos", git.clone_name(repo_url))
        async with _clone_locks.setdefault((self.link.target.key, repo_url), asyncio.Lock()):
            result = await self._script(CLONE, repo_url, target, timeout=GIT_TIMEOUT)
        if not result.ok:
            raise git.GitError(f"could not clone {repo_url} on {self.label}: {_said(result)}")
        return target

    async def resolve_commit(self, repo: str, ref: str) -> str:
        result = await self._script(RESOLVE_COMMIT, repo, ref or "HEAD", timeout=GIT_TIMEOUT)
        if result.exit_status == 4:
            raise git.GitError(f"could not fetch origin: {_said(result)}")
        if not result.ok:
            raise git.GitError(f"the ref {ref!r} does not name a commit in {repo}")
        return result.stdout.strip()

    async def free_branch(self, repo: str, wanted: str) -> str:
        return (await self._git_script(FREE_BRANCH, repo, wanted)).strip()

    async def branch_exists(self, repo: str, branch: str) -> bool:
        result = await self._run(
            "git", "-C", repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"
        )
        return result.ok

    async def current_branch(self, path: str) -> str | None:
        result = await self._script(CURRENT_BRANCH, path)
        branch = result.stdout.strip() if result.ok else ""
        return branch or None

    async def free_worktree_path(self, project_key: str, branch: str) -> str:
        base = posixpath.join(self.root, project_key, branch.replace("/", "-"))
        candidate, suffix = base, 2
        while await self.link.size(candidate) is not None:
            candidate = f"{base}-{suffix}"
            suffix += 1
        return candidate

    async def add_worktree(self, repo: str, path: str, branch: str, start: str) -> str:
        # Not repeated on a new connection: the first attempt may have made it.
        result = await self._script(
            ADD_WORKTREE, repo, path, branch, start, timeout=GIT_TIMEOUT, idempotent=False
        )
        if not result.ok:
            raise git.GitError(f"git worktree add failed: {_said(result)}")
        return result.stdout.strip()

    async def restore_worktree(self, repo: str, path: str, branch: str) -> str:
        result = await self._script(
            RESTORE_WORKTREE, repo, path, branch, timeout=GIT_TIMEOUT, idempotent=False
        )
        if not result.ok:
            raise git.GitError(f"git worktree add failed: {_said(result)}")
        return result.stdout.strip()

    async def worktree_state(
        self, repo: str, path: str, branch: str, base: str
    ) -> git.WorktreeState:
        lines = (await self._git_script(WORKTREE_STATE, repo, path, branch, base)).splitlines()
        facts = {line.split(" ", 1)[0]: line.split(" ", 1)[1:] for line in lines if line}
        behind, ahead = (int(n) for n in (facts.get("counts") or ["0 0"])[0].split())
        has_branch = facts.get("branch") == ["yes"]
        if "head" not in facts:
            return git.WorktreeState(False, None, has_branch, 0, 0, ahead, behind)
        modified, untracked = (int(n) for n in facts["files"][0].split())
        head = (facts["head"] or [""])[0].strip() or None
        return git.WorktreeState(True, head, has_branch, modified, untracked, ahead, behind)

    async def save_work(self, repo: str, path: str, branch: str, ref: str) -> str:
        message = f"Worksite: work saved from {branch} before close"
        return (await self._git_script(SAVE_WORK, repo, path, branch, ref, message)).strip()

    async def remove_worktree(self, repo: str, path: str) -> str:
        return (await self._git_script(REMOVE_WORKTREE, repo, path)).strip()

    async def delete_branch_if_merged(self, repo: str, branch: str, base: str) -> str:
        return (await self._git_script(DELETE_BRANCH_IF_MERGED, repo, branch, base)).strip()

    async def is_dir(self, path: str) -> bool:
        return await self.link.is_dir(path)

    async def real_dir(self, path: str) -> str | None:
        real = await self.link.realpath(path)
        return real if real is not None and await self.link.is_dir(real) else None

    # Talking to what runs there

    async def open_tcp(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await self.link.open_tcp("127.0.0.1", port)
        except ConnectionRefusedError:
            return await self.link.open_tcp("::1", port)

    async def port_is_free(self, port: int) -> bool:
        python = await self._python()
        result = await self._run(python.path, "-I", "-S", "-c", PORT_IS_FREE, str(port))
        if result.exit_status not in (0, 1):
            raise SshError(f"Could not check port {port} on {self.label}: {_said(result)}")
        return result.ok

    async def port_holder(self, port: int) -> str:
        return f"a process on {self.label}"

    async def run_check(self, command: str, cwd: str, env: dict[str, str], timeout: float) -> int:
        variables = [f"{name}={value}" for name, value in env.items()]
        argv = ["env", "-i", *variables, "sh", "-c", 'cd "$1" && exec sh -c "$2"']
        try:
            result = await self.link.run([*argv, "sh", cwd, command], timeout=timeout)
        except CommandTimeout:
            return -1
        return result.exit_status

    # Supervised commands

    def run_dir(self, log_path: str) -> str:
        return posixpath.join(self.state_dir, "runs", log_path)

    async def base_env(self) -> dict[str, str]:
        env = dict((await self._python()).env)
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        return env

    async def spawn_supervised(
        self, run_dir: str, argv: list[str], cwd: str, env: dict[str, str], grace: float
    ) -> SupervisorState:
        python, supervisor = await self._python(), await self._supervisor()
        variables = [f"{name}={value}" for name, value in env.items()]
        result = await self.link.run(
            [
                "env",
                "-i",
                *variables,
                *processes.supervisor_command(
                    run_dir, argv, cwd, grace, python=python.path, script=supervisor
                ),
            ],
            timeout=START_TIMEOUT,
            idempotent=False,
        )
        state = await self.read_state(run_dir)
        if state is not None:
            return state
        details = result.stderr.strip()
        own_log = await self.link.read(posixpath.join(run_dir, "supervisor.log"))
        if own_log:
            details += "\n" + own_log.decode(errors="replace")
        raise processes.not_started(run_dir, result.exit_status, details, f" on {self.label}")

    async def read_state(self, run_dir: str) -> SupervisorState | None:
        path = posixpath.join(run_dir, processes.STATE_FILE)
        data = await self.link.read(path)
        if data is None:
            return None
        return processes.parse_state(data.decode(errors="replace"), f"{self.label}:{path}")

    async def is_alive(self, state: SupervisorState) -> bool:
        stat = await self.link.read(f"/proc/{state.supervisor_pid}/stat", limit=4096)
        if not stat:
            return False
        return processes.parse_start_ticks(stat) == state.supervisor_start_ticks

    async def request_stop(self, state: SupervisorState) -> bool:
        python = await self._python()
        result = await self.link.run(
            [
                python.path,
                "-I",
                "-S",
                "-c",
                STOP_SUPERVISOR,
                str(state.supervisor_pid),
                str(state.supervisor_start_ticks),
            ],
            timeout=30,
        )
        if result.exit_status not in (0, 3):
            raise SshError(f"Could not signal the supervisor on {self.label}: {_said(result)}")
        return result.ok

    async def read_log(self, run_dir: str, offset: int, limit: int) -> logs.LogChunk:
        limit = max(1, min(limit, logs.MAX_READ))
        data = await self.link.read(posixpath.join(run_dir, logs.OUTPUT), max(0, offset), limit)
        return logs.chunk(data or b"", offset)

    async def mirror_logs(self, run_dir: str, local_dir: Path) -> int:
        local_dir.mkdir(parents=True, exist_ok=True)
        # Every byte of stdout.log and stderr.log is in output.log as well, so when
        # its size has not moved there is nothing new anywhere: one request, not four.
        copy = local_dir / logs.OUTPUT
        have = copy.stat().st_size if copy.exists() else 0
        if await self.link.size(posixpath.join(run_dir, logs.OUTPUT)) in (None, have):
            return 0
        for name in MIRRORED:
            await self._append_new(run_dir, local_dir, name)
        # output.log before output.idx on the host, the other way round here: the
        # index then labels every byte of the copy, as the supervisor promises.
        output = await self._new_bytes(run_dir, local_dir, logs.OUTPUT)
        await self._append_new(run_dir, local_dir, logs.INDEX)
        if output:
            with copy.open("ab") as file:
                file.write(output)
        return len(output)

    # Helpers

    async def _new_bytes(self, run_dir: str, local_dir: Path, name: str) -> bytes:
        local = local_dir / name
        have = local.stat().st_size if local.exists() else 0
        return await self.link.read(posixpath.join(run_dir, name), have) or b""

    async def _append_new(self, run_dir: str, local_dir: Path, name: str) -> None:
        data = await self._new_bytes(run_dir, local_dir, name)
        if data:
            with (local_dir / name).open("ab") as copy:
                copy.write(data)

    async def _python(self) -> HostPython:
        """The host's python3 (the interpreter itself, not a shim) and base variables."""
        known = self.link.fact("python")
        if isinstance(known, HostPython):
            return known
        result = await self._run("python3", "-I", "-S", "-c", PROBE_PYTHON, *PASSED_THROUGH)
        facts = json.loads(result.stdout) if result.ok else {}
        python = HostPython(
            str(facts.get("python", "")),
            tuple(facts.get("version", (0, 0))),
            dict(facts.get("env", {})),
        )
        if python.version < PYTHON_NEEDED or not python.path:
            raise SshError(
                f"python3 3.9 or later is needed on {self.label} to supervise commands, "
                f"found {'.'.join(map(str, python.version)) if result.ok else 'none'}"
                f"{': ' + _said(result) if not result.ok else ''}"
            )
        self.link.remember("python", python)
        return python

    async def _supervisor(self) -> str:
        """The path of supervisor.py on the host, uploaded if this version is missing."""
        path = posixpath.join(self.state_dir, "bin", SUPERVISOR_NAME)
        if self.link.fact("supervisor") == path:
            return path
        if await self.link.size(path) != len(SUPERVISOR_SOURCE):
            await self.link.write(path, SUPERVISOR_SOURCE, mode=0o644)
        self.link.remember("supervisor", path)
        return path

    async def _run(self, *argv: str, timeout: float = 60.0) -> Completed:
        return await self.link.run(list(argv), timeout=timeout)

    async def _script(
        self, script: str, *args: str, timeout: float = 60.0, idempotent: bool = True
    ) -> Completed:
        return await self.link.run(
            ["sh", "-c", script, "sh", *args], timeout=timeout, idempotent=idempotent
        )

    async def _git_script(self, script: str, *args: str) -> str:
        result = await self._script(script, *args, timeout=GIT_TIMEOUT)
        if not result.ok:
            raise git.GitError(_said(result) or f"exit status {result.exit_status}")
        return result.stdout


def _said(result: Completed) -> str:
    """What a failed command said, trimmed like git.GitError messages are."""
    text = (result.stderr.strip() or result.stdout.strip())[-2000:]
    return re.sub(r"\s+\n", "\n", text)
