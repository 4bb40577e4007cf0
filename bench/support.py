"""What the benchmarks share: a real `worksite serve` in a temporary data directory,
a GraphQL client, projects with workspaces, and memory and CPU readings from /proc.

Everything started here is stopped by its pid (the server) or through its supervisor
(services), also when a benchmark fails half way.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2

from tests.support.postgres import free_port  # noqa: F401  (the benchmarks use it)
from tests.support.server import ServerProcess
from tests.support.supervisors import live_supervisors, stop_supervisors

TOKEN = "bench-operator-token"
PYTHON = shlex.quote(sys.executable)
# A trivial service: listen on $PORT, then wait.
LISTENER = (
    f"exec {PYTHON} -S -c 'import os, socket, time\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    's.bind(("127.0.0.1", int(os.environ["PORT"]))); s.listen(); time.sleep(3600)\''
)
TICKS = os.sysconf("SC_CLK_TCK")


class Server(ServerProcess):
    """`worksite serve` in its own data directory (SQLite there unless told otherwise)."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        super().__init__(
            data_dir, database_url or f"sqlite://{data_dir / 'worksite.sqlite3'}", TOKEN
        )

    def start(self, timeout: float = 60.0) -> float:  # type: ignore[override]
        """Start and wait until /healthz answers; returns the seconds it took."""
        started = time.monotonic()
        super().start(timeout)
        return time.monotonic() - started

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


class Client:
    def __init__(self, server: Server) -> None:
        self.http = httpx2.Client(
            base_url=server.url,
            trust_env=False,
            timeout=300,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    def call(self, query: str, **variables: Any) -> Any:
        body = self.http.post("/graphql", json={"query": query, "variables": variables}).json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        (result,) = body["data"].values()
        if isinstance(result, dict) and result.get("message"):
            raise RuntimeError(f"{result['message']} {result.get('reasons', '')}")
        return result


@contextlib.contextmanager
def bench_server(database_url: str | None = None) -> Iterator[tuple[Server, Path]]:
    """A running server in a fresh data directory; everything ends on the way out."""
    root = Path(tempfile.mkdtemp(prefix="worksite-bench-"))
    data_dir = root / "data"
    data_dir.mkdir()
    server = Server(data_dir, database_url)
    try:
        server.start()
        yield server, root
    finally:
        server.stop()
        stop_supervisors(data_dir)
        shutil.rmtree(root, ignore_errors=True)


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@invalid",
    }
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["commit", "--quiet", "--allow-empty", "-m", "start"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def workspaces(client: Client, repo: Path, commands: list[dict[str, Any]], count: int) -> list[str]:
    """Ids of `count` isolated workspaces (worktrees) of one project with these commands."""
    project = client.call(
        'mutation { createProject(input: {key: "BEN", name: "Bench"}) { ... on Project { id } } }'
    )
    client.call(
        """mutation($input: CreateProjectWorkspaceInput!) {
             createProjectWorkspace(input: $input) { ... on ProjectWorkspace { id } } }""",
        input={
            "projectId": project["id"],
            "name": "main",
            "cwd": str(repo),
            "baseRef": "main",
            "runtimeConfig": {"commands": commands},
        },
    )
    agent = client.call(
        """mutation { createAgent(input: {name: "bench"}) {
             ... on CreateAgentSuccess { agent { id } } } }"""
    )["agent"]
    ids = []
    for number in range(count):
        issue = client.call(
            """mutation($input: CreateIssueInput!) { createIssue(input: $input) {
                 ... on Issue { id } } }""",
            input={
                "projectId": project["id"],
                "title": f"Task {number}",
                "assigneeId": agent["id"],
            },
        )
        checkout = client.call(
            """mutation($id: ID!) { checkoutIssue(issueId: $id) {
                 ... on CheckoutIssueSuccess { workspace { id } } ... on Error { message } } }""",
            id=issue["id"],
        )
        ids.append(checkout["workspace"]["id"])
    return ids


START = """mutation($id: ID!, $name: String) {
  startWorkspaceService(workspaceId: $id, name: $name, wait: true) {
    ... on WorkspaceServicesSuccess { services { name status pid startedAt readyAt } }
    ... on Error { message } ... on ConflictError { reasons } } }"""
STOP = """mutation($id: ID!, $name: String) {
  stopWorkspaceService(workspaceId: $id, name: $name) {
    ... on WorkspaceServicesSuccess { services { name status } } ... on Error { message }
    ... on ConflictError { reasons } } }"""
SERVICES = """query($id: ID!) { executionWorkspace(id: $id) { services { name status pid } } }"""


# Readings from /proc


def memory_kib(pid: int) -> dict[str, int]:
    """RSS, PSS and USS (private pages) of a process, in KiB."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


supervisors = live_supervisors


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return "   ".join(
        f"{name} {value * 1000:6.1f} ms"
        for name, value in (("median", median), ("p90", p90), ("min", ordered[0]))
    )
