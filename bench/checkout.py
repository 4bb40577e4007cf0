"""Checkout latency: `checkoutIssue` (isolated, empty provision) beside plain git.

Generates a repository of 5,000 files, then times N checkouts through the GraphQL
API (in-process server, SQLite) and N plain `git worktree add -b` on the same
repository, and prints the medians and their ratio. Target: within 1.3x.

    .venv/bin/python bench/checkout.py [--runs 10] [--files 5000]
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

import httpx2  # noqa: E402

from tests.support.api import Api  # noqa: E402
from worksite import db  # noqa: E402
from worksite.app import create_app  # noqa: E402
from worksite.settings import Settings  # noqa: E402

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


def plain_git(repo: Path, root: Path, runs: int) -> list[float]:
    times = []
    for n in range(runs):
        branch = f"plain-{root.name}-{n}"
        started = time.perf_counter()
        git(repo, "worktree", "add", "-q", "-b", branch, str(root / branch), "main")
        times.append(time.perf_counter() - started)
    return times


async def through_worksite(repo: Path, root: Path, runs: int) -> list[float]:
    root.mkdir(parents=True)
    database = root / "bench.sqlite3"
    await db.migrate(f"sqlite://{database}")
    settings = Settings(data_dir=root / "data", database_url=f"sqlite://{database}", operator_token="bench")
    settings.data_dir.mkdir()
    app = create_app(settings, migrate=False)
    times = []
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://bench") as client:
            api = Api(client, settings, "bench")
            project = await api.project("B" + root.name.replace("-", "").upper())
            await api.project_workspace(project["id"], cwd=str(repo), baseRef="main")
            agent_id, token = await api.agent()
            issues = [await api.issue(project["id"], f"Task {n}", assigneeId=agent_id) for n in range(runs)]
            for issue in issues:
                started = time.perf_counter()
                result = await api.checkout(issue["id"], token)
                times.append(time.perf_counter() - started)
                assert result["__typename"] == "CheckoutIssueSuccess", result
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="worksite-bench-") as tmp:
        root = Path(tmp)
        repo = make_repository(root, args.files)
        # Alternate the two so neither gets a warmer page cache.
        worksite_times, git_times = [], []
        for _ in range(2):
            git_times += plain_git(repo, root / f"git-{len(git_times)}", args.runs // 2 or 1)
            worksite_times += asyncio.run(through_worksite(repo, root / f"ws-{len(worksite_times)}", args.runs // 2 or 1))
    ours, theirs = statistics.median(worksite_times), statistics.median(git_times)
    print(f"repository: {args.files} files; runs: {len(worksite_times)} each")
    print(f"git worktree add -b   median {theirs * 1000:7.1f} ms  (min {min(git_times) * 1000:.1f})")
    print(f"checkoutIssue         median {ours * 1000:7.1f} ms  (min {min(worksite_times) * 1000:.1f})")
    print(f"ratio                 {ours / theirs:.2f}x  (target <= 1.30x)")


if __name__ == "__main__":
    main()
