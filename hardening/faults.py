"""Faults: the server killed mid-operation, PostgreSQL gone and back, a full disk.

    scripts/harden faults [--rounds N] [--seed S] [--only kill|database|disk]

1. Kill rounds: a real server on SQLite, then on PostgreSQL, with a real git repository.
   Each kind is first timed once, unkilled. Then each round picks (seeded) one of
   checkout, service start, job run and close, starts it, SIGKILLs the server after a
   random delay of up to 1.2 times that duration, starts it again on the same data
   directory and checks the invariants (see `violations`); then a fresh checkout must
   succeed. Prints how many rounds passed, per kind, and how many kills landed while
   the request was still unanswered.
2. Database outage: a server on a PostgreSQL cluster of its own, a service running;
   the cluster is stopped, then started again on the same port. Requests must fail
   with a clear error meanwhile, the service must keep running, and the server must
   recover without a restart (queries, live events, the monitor). Prints the times.
3. Disk full: the logs directory on a 2 MiB tmpfs, a service writing as fast as it
   can. Its log must stop growing with a marker line while the service and the server
   go on; once space is freed, the next operation logs again. Prints the sizes.

The pytest suite (tests/test_faults.py) runs the same functions with few rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2

from bench.support import TOKEN, Server, make_repo
from tests.support.postgres import PostgresCluster
from tests.support.supervisors import stop_supervisors
from worksite.runtime.processes import (
    SupervisorError,
    is_alive,
    read_state,
)

KINDS = ("checkout", "service start", "job run", "close")
# The longest a kill waits after the operation was sent is this many times as long as
# the operation took, unkilled, on this machine at the start of the run: most kills
# land during it, a few just after. A fixed window missed on a slower or faster machine.
KILL_WINDOW_STRETCH = 1.2
TRANSITIONAL_WORKSPACE = {"PROVISIONING", "CLOSING"}
LIVE_SERVICE = {"STARTING", "RUNNING", "STOPPING"}
SETTLE_TIMEOUT = 30.0
PRECIOUS = "precious.txt"

COMMANDS = [
    {"name": "web", "kind": "service", "command": "echo up; exec sleep 3600"},
    {"name": "tests", "kind": "job", "command": "echo testing; sleep 0.8; echo passed"},
]

CREATE_PROJECT = """mutation($input: CreateProjectInput!) { createProject(input: $input) {
  ... on Project { id } ... on Error { message } } }"""
CREATE_PROJECT_WORKSPACE = """mutation($input: CreateProjectWorkspaceInput!) {
  createProjectWorkspace(input: $input) { ... on ProjectWorkspace { id }
  ... on Error { message } } }"""
CREATE_AGENT = """mutation($input: CreateAgentInput!) { createAgent(input: $input) {
  ... on CreateAgentSuccess { token agent { id } } ... on Error { message } } }"""
CREATE_ISSUE = """mutation($input: CreateIssueInput!) { createIssue(input: $input) {
  ... on Issue { id } ... on Error { message } } }"""
CHECKOUT = """mutation($id: ID!) { checkoutIssue(issueId: $id) {
  __typename ... on CheckoutIssueSuccess { workspace { id status cwd } }
  ... on Error { message } } }"""
START = """mutation($id: ID!, $name: String) {
  startWorkspaceService(workspaceId: $id, name: $name, wait: true) {
  __typename ... on Error { message } } }"""
RUN_JOB = """mutation($id: ID!, $name: String!) {
  runWorkspaceJob(workspaceId: $id, name: $name, wait: true) {
  __typename ... on RunWorkspaceJobSuccess { operation { id status } }
  ... on Error { message } } }"""
CLOSE = """mutation($id: ID!) { closeExecutionWorkspace(id: $id, force: true) {
  __typename ... on Error { message } } }"""
WORKSPACES = """query { executionWorkspaces(includeArchived: true) {
  id name status cwd savedWorkRef
  services { name status pid startOperation { id } }
  operations { id phase status } } }"""


# A GraphQL client for a server that may be killed under it


class Api:
    def __init__(self, server: Server, timeout: float = 120.0) -> None:
        self.url = f"{server.url}/graphql"
        self.timeout = timeout

    def post(self, query: str, token: str = TOKEN, **variables: Any) -> httpx2.Response:
        return httpx2.post(
            self.url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=self.timeout,
            trust_env=False,
        )

    def call(self, query: str, token: str = TOKEN, **variables: Any) -> Any:
        """The single result; top-level errors raise, typed errors are returned."""
        body = self.post(query, token, **variables).json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        (result,) = body["data"].values()
        return result

    def ok(self, query: str, token: str = TOKEN, **variables: Any) -> Any:
        """The single result, which must not be a typed error."""
        result = self.call(query, token, **variables)
        if isinstance(result, dict) and result.get("message"):
            raise RuntimeError(f"expected success, got {result}")
        return result


# 1. Kill rounds


@dataclass
class Scene:
    """One project on the repository, an agent, and the workspace the next round uses."""

    api: Api
    repo: Path
    data_dir: Path
    project_id: str = ""
    agent_id: str = ""
    agent_token: str = ""
    workspace: dict[str, Any] = field(default_factory=dict)
    # Files written in worktrees before a close: (workspace id, file path).
    precious: list[tuple[str, Path]] = field(default_factory=list)
    issues: int = 0

    def prepare(self) -> None:
        project = self.api.ok(CREATE_PROJECT, input={"key": "KIL", "name": "Kill rounds"})
        self.project_id = project["id"]
        self.api.ok(
            CREATE_PROJECT_WORKSPACE,
            input={
                "projectId": self.project_id,
                "name": "main",
                "cwd": str(self.repo),
                "baseRef": "main",
                "provisionCommand": "echo provisioning; sleep 0.6",
                "cleanupCommand": "sleep 0.6",
                "runtimeConfig": {"commands": COMMANDS},
            },
        )
        agent = self.api.ok(CREATE_AGENT, input={"name": "killer"})
        self.agent_id, self.agent_token = agent["agent"]["id"], agent["token"]

    def new_issue(self) -> str:
        self.issues += 1
        issue = self.api.ok(
            CREATE_ISSUE,
            input={
                "projectId": self.project_id,
                "title": f"Round {self.issues}",
                "assigneeId": self.agent_id,
            },
        )
        return str(issue["id"])

    def checkout(self, issue_id: str) -> dict[str, Any]:
        return self.api.call(CHECKOUT, self.agent_token, id=issue_id)  # type: ignore[no-any-return]

    def fresh_workspace(self) -> dict[str, Any]:
        """Check out a new issue; the API must answer with an active workspace."""
        result = self.checkout(self.new_issue())
        if result["__typename"] != "CheckoutIssueSuccess":
            raise RuntimeError(f"a fresh checkout failed: {result}")
        self.workspace = result["workspace"]
        if self.workspace["status"] != "ACTIVE":
            raise RuntimeError(f"a fresh checkout is {self.workspace['status']}")
        return self.workspace


def operation_of(kind: str, scene: Scene) -> Callable[[], Any]:
    """What the round does (after its preparation), as a call to make in a thread."""
    workspace_id = scene.workspace.get("id")
    if kind == "checkout":
        issue_id = scene.new_issue()
        return lambda: scene.checkout(issue_id)
    if kind == "service start":
        return lambda: scene.api.call(START, id=workspace_id, name="web")
    if kind == "job run":
        return lambda: scene.api.call(RUN_JOB, id=workspace_id, name="tests")
    cwd = Path(scene.workspace["cwd"])
    (cwd / PRECIOUS).write_text(f"work of {workspace_id}\n")
    scene.precious.append((str(workspace_id), cwd / PRECIOUS))
    return lambda: scene.api.call(CLOSE, id=workspace_id)


@dataclass
class RoundResult:
    number: int
    kind: str
    delay: float
    finished_before_kill: bool
    problems: list[str]


def kill_round(number: int, kind: str, delay: float, server: Server, scene: Scene) -> RoundResult:
    """Start the operation, SIGKILL the server after `delay`, restart, check."""
    call = operation_of(kind, scene)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = call()
        except (httpx2.TransportError, RuntimeError, ValueError) as error:
            outcome["error"] = error

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(delay)
    finished = not thread.is_alive()
    server.stop(signal.SIGKILL)
    thread.join(60)

    server.start()
    problems = settled_violations(scene, server)
    if not problems:
        try:
            scene.fresh_workspace()
        except (httpx2.TransportError, RuntimeError) as error:
            problems.append(f"the API did not work after the restart: {error}")
    return RoundResult(number, kind, delay, finished, problems)


def settled_violations(scene: Scene, server: Server) -> list[str]:
    """The invariants' violations, once they persist after the services settled."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        problems = violations(scene, server)
        if not problems or time.monotonic() >= deadline:
            return problems
        time.sleep(0.25)


def violations(scene: Scene, server: Server) -> list[str]:
    """What breaks the invariants after a restart; empty when everything holds.

    - no workspace in a transitional status (provisioning, closing);
    - every operation finished, or running under a live supervisor;
    - no service starting or stopping for longer than it takes to settle;
    - every live supervisor is a running operation's or a live service's (no process
      the database does not know), and one per service (no duplicate);
    - every process working in a worktree runs under a known supervisor;
    - every file written before a close is in its worktree or in the archive ref.
    """
    workspaces = scene.api.ok(WORKSPACES)
    problems: list[str] = []
    running_ops: set[str] = set()
    service_runs: dict[str, str] = {}  # live service's start operation -> its label
    for workspace in workspaces:
        name = workspace["name"]
        if workspace["status"] in TRANSITIONAL_WORKSPACE:
            problems.append(f"workspace {name} is stuck {workspace['status']}")
        for operation in workspace["operations"]:
            if operation["status"] == "RUNNING":
                running_ops.add(operation["id"])
        for service in workspace["services"]:
            label = f"service {service['name']} of {name}"
            if service["status"] in ("STARTING", "STOPPING"):
                problems.append(f"{label} is {service['status']}")
            if service["status"] in LIVE_SERVICE and service["startOperation"]:
                service_runs[service["startOperation"]["id"]] = label

    supervised = live_runs(scene.data_dir)
    for operation_id in running_ops - set(supervised) - set(service_runs):
        problems.append(f"operation {operation_id} is RUNNING but nothing runs it")
    for operation_id, state in supervised.items():
        if operation_id not in running_ops and operation_id not in service_runs:
            problems.append(
                f"supervisor {state.supervisor_pid} runs {' '.join(state.argv)!r} "
                f"(operation {operation_id}) which the database does not know as running"
            )
    for label, count in Counter(service_runs.values()).items():
        if count > 1:
            problems.append(f"{label} runs {count} times")
    problems += strays(scene.data_dir, supervised, server)
    problems += lost_work(scene, workspaces)
    return problems


def live_runs(data_dir: Path) -> dict[str, Any]:
    """Live supervisors under the data directory's logs, by operation id."""
    found = {}
    for state_file in (data_dir / "logs").rglob("state.json"):
        try:
            state = read_state(state_file.parent)
        except SupervisorError:
            continue
        if state is not None and not state.ended and is_alive(state):
            found[state_file.parent.name] = state
    return found


def strays(data_dir: Path, supervised: dict[str, Any], server: Server) -> list[str]:
    """Processes working under the data directory that no known supervisor owns."""
    owners = {state.supervisor_pid for state in supervised.values()}
    if server.process is not None:
        owners.add(server.process.pid)
    parents = {pid: ppid for pid, ppid, _ in processes()}
    found = []
    for pid, _, cwd in processes():
        if cwd is None or not cwd.is_relative_to(data_dir) or pid in owners:
            continue
        if not _descends_from(pid, owners, parents) and _cmdline(pid):
            found.append(f"process {pid} ({_cmdline(pid)}) in {cwd} has no known owner")
    return found


def processes() -> Iterator[tuple[int, int, Path | None]]:
    """(pid, ppid, cwd) of every process we can see."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
            cwd: Path | None = Path(os.readlink(f"/proc/{name}/cwd"))
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):
            cwd = None
        yield int(name), int(fields[1]), cwd


def _descends_from(pid: int, owners: set[int], parents: dict[int, int]) -> bool:
    while pid > 1:
        if pid in owners:
            return True
        pid = parents.get(pid, 1)
    return False


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def lost_work(scene: Scene, workspaces: list[dict[str, Any]]) -> list[str]:
    by_id = {workspace["id"]: workspace for workspace in workspaces}
    problems = []
    for workspace_id, path in scene.precious:
        if path.exists():
            continue
        ref = (by_id.get(workspace_id) or {}).get("savedWorkRef")
        saved = (
            ref
            and subprocess.run(
                ["git", "cat-file", "-e", f"{ref}:{PRECIOUS}"],
                cwd=scene.repo,
                capture_output=True,
            ).returncode
            == 0
        )
        if not saved:
            problems.append(f"{path} is gone and not saved (ref {ref})")
    return problems


@dataclass
class KillReport:
    database: str
    seed: int
    results: list[RoundResult]
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(1 for result in self.results if not result.problems)

    def lines(self) -> list[str]:
        out = [
            f"kill rounds on {self.database} (seed {self.seed}): {self.passed} of "
            f"{len(self.results)} passed",
            "  unkilled durations: "
            + ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in self.durations.items()),
        ]
        for kind in KINDS:
            mine = [result for result in self.results if result.kind == kind]
            if mine:
                ok = sum(1 for result in mine if not result.problems)
                early = sum(1 for result in mine if result.finished_before_kill)
                out.append(
                    f"  {kind:14} {ok}/{len(mine)} passed "
                    f"({len(mine) - early} killed mid-operation)"
                )
        for result in self.results:
            for problem in result.problems:
                out.append(
                    f"  round {result.number} ({result.kind}, kill at "
                    f"{result.delay:.2f} s): {problem}"
                )
        return out


def kill_rounds(
    rounds: int,
    seed: int,
    database_url: str | None,
    kinds: tuple[str, ...] = KINDS,
    report: Callable[[str], None] = lambda line: None,
) -> KillReport:
    """Run `rounds` kill rounds against a fresh server; kinds cycle in a seeded order."""
    rng = random.Random(seed)
    database = "PostgreSQL" if database_url else "SQLite"
    with temporary_root() as root:
        repo = make_repo(root)
        data_dir = root / "data"
        server = Server(data_dir, database_url)
        server.start()
        try:
            scene = Scene(Api(server), repo, data_dir)
            scene.prepare()
            scene.fresh_workspace()
            durations = unkilled_durations(scene, kinds)
            # Every kind in turn, each turn in a fresh seeded order, so a dozen rounds
            # give each kind three kills rather than whatever chance leaves it.
            turns = -(-rounds // len(kinds))
            order = [kind for _ in range(turns) for kind in rng.sample(kinds, len(kinds))]
            results = []
            for number, kind in enumerate(order[:rounds], start=1):
                delay = rng.uniform(0.0, KILL_WINDOW_STRETCH * durations[kind])
                result = kill_round(number, kind, delay, server, scene)
                report(
                    f"{database} round {number}: {kind}, kill at {delay:.2f} s: "
                    + ("ok" if not result.problems else "; ".join(result.problems))
                )
                results.append(result)
                if result.problems:
                    # The next round needs a healthy workspace to work on.
                    with contextlib.suppress(RuntimeError, httpx2.TransportError):
                        scene.fresh_workspace()
        finally:
            server.stop()
            stop_supervisors(data_dir)
    return KillReport(database, seed, results, durations)


def unkilled_durations(scene: Scene, kinds: tuple[str, ...]) -> dict[str, float]:
    """How long each kind of operation takes here when nothing interrupts it."""
    durations = {}
    for kind in kinds:
        call = operation_of(kind, scene)
        started = time.monotonic()
        result = call()
        durations[kind] = time.monotonic() - started
        if result.get("message"):
            raise RuntimeError(f"an unkilled {kind} failed: {result}")
        scene.fresh_workspace()
    return durations


@contextlib.contextmanager
def temporary_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="worksite-faults-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


# 2. Database outage

OUTAGE_ANSWER_LIMIT = 15.0  # seconds a request may take to fail while PostgreSQL is down
RECOVERY_LIMIT = 60.0
SERVICE_STATUS = """subscription($id: ID!) { serviceStatus(workspaceId: $id) {
  __typename ... on RuntimeService { name status pid } ... on Error { message } } }"""
RESTART = """mutation($id: ID!, $name: String) {
  restartWorkspaceService(workspaceId: $id, name: $name, wait: true) {
  __typename ... on WorkspaceServicesSuccess { services { name status pid } }
  ... on Error { message } } }"""
RUN_JOB_LATER = """mutation($id: ID!, $name: String!) {
  runWorkspaceJob(workspaceId: $id, name: $name) {
  __typename ... on RunWorkspaceJobSuccess { operation { id } } ... on Error { message } } }"""
OPERATION_STATUS = "query($id: ID!) { operation(id: $id) { status exitCode } }"
SMALL_QUERY = "query { executionWorkspaces { id status } }"


@dataclass
class OutageReport:
    answers: list[tuple[str, int, float, str]] = field(default_factory=list)
    service_alive: bool = False
    subscription_open: bool = False
    recovered_in: float | None = None
    event_in: float | None = None
    monitor_in: float | None = None
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = ["database outage (PostgreSQL stopped with pg_ctl -m fast, then started):"]
        for what, status, seconds, message in self.answers:
            out.append(f"  while down, {what}: HTTP {status} in {seconds:.2f} s: {message}")
        out.append(f"  service process alive through the outage: {self.service_alive}")
        out.append(f"  subscription kept its connection: {self.subscription_open}")
        for label, value in (
            ("first successful query", self.recovered_in),
            ("live event through the relay", self.event_in),
            ("job end recorded by the monitor", self.monitor_in),
        ):
            shown = f"{value:.2f} s" if value is not None else "never"
            out.append(f"  after PostgreSQL started again, {label}: {shown}")
        out += [f"  problem: {problem}" for problem in self.problems]
        return out


async def database_outage(cluster: PostgresCluster, database_url: str) -> OutageReport:
    """Stop PostgreSQL under a running server, then start it again; see the module doc."""
    from tests.support.gqlws import GraphQLWebSocket

    report = OutageReport()
    with temporary_root() as root:
        data_dir = root / "data"
        server = Server(data_dir, database_url)
        server.start()
        try:
            scene = Scene(Api(server, timeout=OUTAGE_ANSWER_LIMIT * 2), make_repo(root), data_dir)
            scene.prepare()
            workspace_id = scene.fresh_workspace()["id"]
            scene.api.ok(START, id=workspace_id, name="web")
            (web,) = scene.api.ok(SERVICES_OF, id=workspace_id)["services"]
            async with GraphQLWebSocket.connect(server.ws_url, TOKEN) as client:
                stream = await client.subscribe(SERVICE_STATUS, {"id": workspace_id})
                await client.next_value(stream)  # the current state

                cluster.stop_server("fast")
                await asyncio.sleep(2 * MONITOR_POLL)  # the monitor meets the outage
                for query, variables in (
                    (SMALL_QUERY, {}),
                    (RUN_JOB, {"id": workspace_id, "name": "tests"}),
                ):
                    report.answers.append(
                        await asyncio.to_thread(answer, scene.api, query, variables)
                    )
                report.service_alive = pid_alive(web["pid"])
                report.subscription_open = client.websocket.state.name == "OPEN"

                cluster.start_server()
                report.recovered_in = await asyncio.to_thread(first_success, scene.api)
                started = time.monotonic()
                await asyncio.to_thread(scene.api.ok, RESTART, id=workspace_id, name="web")
                report.event_in = await event_after(client, stream, web["pid"], started)
            report.monitor_in = await asyncio.to_thread(
                monitor_records_a_job, scene.api, workspace_id
            )
        finally:
            server.stop()
            stop_supervisors(data_dir)

    for what, status, seconds, message in report.answers:
        if seconds > OUTAGE_ANSWER_LIMIT or "unavailable" not in message.lower():
            report.problems.append(
                f"{what} while down: HTTP {status} in {seconds:.1f} s: {message}"
            )
    if not report.service_alive:
        report.problems.append("the service died with the database")
    for label, value in (
        ("query", report.recovered_in),
        ("event", report.event_in),
        ("monitor", report.monitor_in),
    ):
        if value is None:
            report.problems.append(f"no {label} after PostgreSQL came back")
    return report


SERVICES_OF = "query($id: ID!) { executionWorkspace(id: $id) { services { name status pid } } }"
MONITOR_POLL = 0.5


def answer(api: Api, query: str, variables: dict[str, Any]) -> tuple[str, int, float, str]:
    """What a request answers, how fast, and its message, while the database is down."""
    kind = "a mutation" if query.lstrip().startswith("mutation") else "a query"
    started = time.monotonic()
    try:
        response = api.post(query, **variables)
    except httpx2.TransportError as error:
        return kind, 0, time.monotonic() - started, f"no answer: {error!r}"
    seconds = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        return kind, response.status_code, seconds, response.text[:200]
    messages = [error.get("message", "") for error in body.get("errors") or []]
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict) and value.get("message"):
            messages.append(value["message"])
    codes = [(error.get("extensions") or {}).get("code") for error in body.get("errors") or []]
    text = "; ".join(messages) or "no error"
    if any(codes):
        text += f" (code {', '.join(str(code) for code in codes)})"
    return kind, response.status_code, seconds, text


def first_success(api: Api) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_LIMIT:
        with contextlib.suppress(RuntimeError, httpx2.TransportError, ValueError):
            api.ok(SMALL_QUERY)
            return time.monotonic() - started
        time.sleep(0.1)
    return None


async def event_after(client: Any, stream: str, old_pid: int, started: float) -> float | None:
    """Seconds until the subscription reports the restarted service's new process."""
    while time.monotonic() - started < RECOVERY_LIMIT:
        try:
            value = await client.next_value(stream, timeout=RECOVERY_LIMIT)
        except AssertionError:
            return None
        if value.get("status") == "RUNNING" and value.get("pid") not in (None, old_pid):
            return time.monotonic() - started
    return None


def monitor_records_a_job(api: Api, workspace_id: str) -> float | None:
    """Seconds until the end of a job nobody waits for is recorded (by the monitor)."""
    started = time.monotonic()
    operation = api.ok(RUN_JOB_LATER, id=workspace_id, name="tests")["operation"]
    while time.monotonic() - started < RECOVERY_LIMIT:
        if api.ok(OPERATION_STATUS, id=operation["id"])["status"] == "SUCCEEDED":
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists()


def with_cluster(work: Callable[[PostgresCluster, str], Any]) -> Any:
    """Run work on a throwaway PostgreSQL cluster of its own, with one database."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        cluster.psql("CREATE DATABASE worksite")
        return work(cluster, cluster.url("worksite"))
    finally:
        cluster.stop()


# 3. Disk full

TMPFS_SIZE = "2m"
BALLAST_BYTES = 1024 * 1024
TRUNCATED = "[worksite: log truncated: no space left on device]"
# Writes 64 KiB chunks as fast as the pipe takes them, forever.
NOISY = f'exec {sys.executable} -S -c \'import os\nwhile True: os.write(1, b"x" * 65535 + b"\\n")\''
DISK_COMMANDS = [
    {"name": "noisy", "kind": "service", "command": NOISY},
    {"name": "hello", "kind": "job", "command": "echo hello after the disk was freed"},
]
OPERATION_LOG = """query($id: ID!) { operation(id: $id) { status exitCode stderrExcerpt
  log(offset: 0, limit: 1000000) { content } } }"""
SERVICE_RUN = """query($id: ID!) { executionWorkspace(id: $id) {
  services { name status pid startOperation { id } } } }"""


@dataclass
class DiskReport:
    logged_bytes: int = 0
    filled_in: float | None = None
    marker: bool = False
    grew_after: int = 0
    service_alive: bool = False
    answer_while_full: str = ""
    job_while_full: str = ""
    job_after: str = ""
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"disk full (logs on a {TMPFS_SIZE} tmpfs, {BALLAST_BYTES // 1024} KiB of it "
            "ballast, a service writing 64 KiB lines as fast as it can):",
            f"  the service's log stopped at {self.logged_bytes} bytes after "
            + (f"{self.filled_in:.2f} s" if self.filled_in is not None else "never"),
            f"  ends with the marker {TRUNCATED!r}: {self.marker}",
            f"  bytes it grew by in the next second: {self.grew_after}",
            f"  service process alive: {self.service_alive}",
            f"  a query while full: {self.answer_while_full}",
            f"  a job while full: {self.job_while_full}",
            f"  a job once the ballast was removed: {self.job_after}",
        ]
        out += [f"  problem: {problem}" for problem in self.problems]
        return out


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = TMPFS_SIZE) -> Iterator[Path]:
    """A tmpfs of `size` mounted at path; unmounted on the way out. Needs root."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"cannot mount a tmpfs at {path} (the disk-full check needs root): "
            f"{result.stderr.strip()}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def disk_full() -> DiskReport:
    """Fill the logs' disk with a service's output; see the module doc."""
    report = DiskReport()
    with temporary_root() as root:
        data_dir = root / "data"
        with small_tmpfs(data_dir / "logs") as logs_dir:
            server = Server(data_dir, None)
            server.start()
            try:
                _fill_and_free(report, server, root, data_dir, logs_dir)
            finally:
                server.stop()
                stop_supervisors(data_dir)
    return report


def _fill_and_free(
    report: DiskReport, server: Server, root: Path, data_dir: Path, logs_dir: Path
) -> None:
    api = Api(server)
    scene = Scene(api, make_repo(root), data_dir)
    project = api.ok(CREATE_PROJECT, input={"key": "DSK", "name": "Disk full"})
    scene.project_id = project["id"]
    api.ok(
        CREATE_PROJECT_WORKSPACE,
        input={
            "projectId": scene.project_id,
            "name": "main",
            "cwd": str(scene.repo),
            "baseRef": "main",
            "runtimeConfig": {"commands": DISK_COMMANDS},
        },
    )
    agent = api.ok(CREATE_AGENT, input={"name": "writer"})
    scene.agent_id, scene.agent_token = agent["agent"]["id"], agent["token"]
    workspace_id = scene.fresh_workspace()["id"]
    ballast = logs_dir / "ballast"
    ballast.write_bytes(bytes(BALLAST_BYTES))

    started = time.monotonic()
    api.ok(START, id=workspace_id, name="noisy")
    (noisy,) = api.ok(SERVICE_RUN, id=workspace_id)["services"]
    log = logs_dir / workspace_id / noisy["startOperation"]["id"] / "output.log"
    report.logged_bytes = settled_size(log)
    report.filled_in = time.monotonic() - started
    time.sleep(1.0)
    report.grew_after = log.stat().st_size - report.logged_bytes
    report.marker = log.read_bytes().rstrip(b"\n").endswith(TRUNCATED.encode())
    report.service_alive = pid_alive(noisy["pid"])
    report.answer_while_full = answer(api, SERVICE_RUN, {"id": workspace_id})[3]
    report.job_while_full = job_outcome(api, workspace_id)

    ballast.unlink()
    report.job_after = job_outcome(api, workspace_id)
    if not report.marker:
        report.problems.append("the log does not end with the marker")
    if report.grew_after:
        report.problems.append(f"the log grew by {report.grew_after} bytes once full")
    if not report.service_alive:
        report.problems.append("the service died of the full disk")
    if report.answer_while_full != "no error":
        report.problems.append(f"a query failed while full: {report.answer_while_full}")
    if report.job_after != "SUCCEEDED: hello after the disk was freed":
        report.problems.append(f"no log once space was freed: {report.job_after}")


def settled_size(path: Path, timeout: float = 60.0) -> int:
    """The size of a file once it stopped growing for a while."""
    deadline = time.monotonic() + timeout
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else 0
        if size != last:
            last, still_since = size, time.monotonic()
        elif size and time.monotonic() - still_since >= 1.0:
            return size
        time.sleep(0.1)
    raise RuntimeError(f"{path} kept growing (or never appeared) for {timeout} s")


def job_outcome(api: Api, workspace_id: str) -> str:
    """How a job run ends: its status and output, or the error the API gave."""
    try:
        result = api.call(RUN_JOB, id=workspace_id, name="hello")
    except RuntimeError as error:
        return f"top-level error: {error}"
    if "operation" not in result:
        return f"{result.get('__typename')}: {result.get('message')}"
    operation = api.ok(OPERATION_LOG, id=result["operation"]["id"])
    # With no room for its log, the reason is in the excerpt the database keeps.
    output = operation["log"]["content"].strip() or operation["stderrExcerpt"].strip()
    return f"{operation['status']}: {output[:300]}"


# Entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/harden faults", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=12, help="kill rounds per database")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill rounds")
    parser.add_argument("--only", choices=("kill", "database", "disk"), default=None)
    parser.add_argument("--verbose", action="store_true", help="print every round")
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else random.randrange(1 << 30)
    say = print if options.verbose else (lambda line: None)
    failed = False

    if options.only in (None, "kill"):
        reports = [kill_rounds(options.rounds, seed, None, report=say)]
        reports.append(
            with_cluster(lambda cluster, url: kill_rounds(options.rounds, seed, url, report=say))
        )
        for kill_report in reports:
            print("\n".join(kill_report.lines()))
            failed |= kill_report.passed < len(kill_report.results)
    if options.only in (None, "disk"):
        disk = disk_full()
        print("\n".join(disk.lines()))
        failed |= bool(disk.problems)
    if options.only in (None, "database"):
        outage = with_cluster(lambda cluster, url: asyncio.run(database_outage(cluster, url)))
        print("\n".join(outage.lines()))
        failed |= bool(outage.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
