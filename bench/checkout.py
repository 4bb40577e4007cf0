"""Checkout latency: `checkoutIssue` (isolated, empty provision) beside plain git.

Generates a repository of 5,000 files, then times N checkouts through the GraphQL
API (in-process server, SQLite) and N plain `git worktree add -b` on the same
repository, interleaved, and prints the medians and their ratio. Target: within 1.3x.

    .venv/bin/python bench/checkout.py [--runs 20] [--files 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2

from tests.support.api import Api
from worksite import db
from worksite.app import create_app
from worksite.settings import Settings

os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@worksite.invalid")
os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@worksite.invalid")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repository(root: Path, files: int) -> Path:
    repo = root / "repo"
    for n in range(files):
        path = repo / f"pkg{n % 50}" / f"module_{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {n}\n" * 20)
    git(repo, "init", "-q", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "generated")
    return repo


def plain_git(repo: Path, root: Path, n: int) -> float:
    branch = f"plain-{n}"
    started = time.perf_counter()
    git(repo, "worktree", "add", "-q", "-b", branch, str(root / branch), "main")
    return time.perf_counter() - started


async def measure(repo: Path, root: Path, runs: int) -> tuple[list[float], list[float]]:
    """Checkouts through the API and plain worktree adds, interleaved.

    One server for all runs; each pair is timed in alternating order, after the
    disk has written out the previous run's files, so neither side inherits the
    other's writeback or a warmer cache.
    """
    database = root / "bench.sqlite3"
    await db.migrate(f"sqlite://{database}")
    settings = Settings(
        data_dir=root / "data", database_url=f"sqlite://{database}", operator_token="bench"
    )
    settings.data_dir.mkdir()
    app = create_app(settings, migrate=False)
    ours, theirs = [], []
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
            api = Api(client, settings, "bench")
            project = await api.project("BENCH")
            await api.project_workspace(project["id"], cwd=str(repo), baseRef="main")
            agent_id, token = await api.agent()
            issues = [
                await api.issue(project["id"], f"Task {n}", assigneeId=agent_id)
                for n in range(runs)
            ]

            async def checkout(issue: dict) -> float:
                started = time.perf_counter()
                result = await api.checkout(issue["id"], token)
                elapsed = time.perf_counter() - started
                assert result["__typename"] == "CheckoutIssueSuccess", result
                return elapsed

            for n, issue in enumerate(issues):
                await asyncio.to_thread(os.sync)
                if n % 2:
                    theirs.append(plain_git(repo, root / "git", n))
                    await asyncio.to_thread(os.sync)
                    ours.append(await checkout(issue))
                else:
                    ours.append(await checkout(issue))
                    await asyncio.to_thread(os.sync)
                    theirs.append(plain_git(repo, root / "git", n))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument(
        "--dir",
        default=None,
        help="where to make the repository and worktrees (default: the system temp dir;"
        " /dev/shm takes the disk out of the figures)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="worksite-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        repo = make_repository(root, args.files)
        worksite_times, git_times = asyncio.run(measure(repo, root, args.runs))
    ours, theirs = statistics.median(worksite_times), statistics.median(git_times)
    pairs = statistics.median(o / t for o, t in zip(worksite_times, git_times, strict=True))
    print(
        f"repository: {args.files} files in {args.dir or tempfile.gettempdir()}; runs: {len(worksite_times)} each, interleaved"
    )
    print(
        f"git worktree add -b   median {theirs * 1000:7.1f} ms  (min {min(git_times) * 1000:.1f})"
    )
    print(
        f"checkoutIssue         median {ours * 1000:7.1f} ms  (min {min(worksite_times) * 1000:.1f})"
    )
    print(f"ratio of medians      {ours / theirs:.2f}x  (target <= 1.30x)")
    print(f"median pair ratio     {pairs:.2f}x")


if __name__ == "__main__":
    main()
