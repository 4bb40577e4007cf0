"""A bounded load run on loopback: workspaces, services, subscribers and agents at once.

    scripts/harden load [--seconds 60] [--workspaces 20] [--subscribers 100]
        [--agents 4] [--operators 3] [--rate 10] [--database sqlite|postgres]

Starts a real `worksite serve` in a temporary directory (SQLite there, or a
throwaway PostgreSQL cluster) and sets up one project with --workspaces isolated
workspaces, one per issue, each running a service `ticker` that writes --rate
numbered, timestamped lines a second. Then, for --seconds:

- --subscribers graphql-transport-ws connections, one subscription each: the
  tickers' logs through serviceLog (some of them cutting their connection every
  few chunks and resuming from the last offset) and operationLog, serviceStatus,
  workspaceChanged and runChanged;
- --agents agents, each checking its issues out, running a job there and
  finishing the run, over and over;
- --operators operators reading the workspace list (with services, commands,
  issues and operations) and the issue list, and one more renaming workspaces.

Then it stops the agents and operators, stops the services (which completes the
log streams), waits for every subscriber to catch up, and stops everything it
started. It prints throughput and p50/p99 latency per kind of call and for log
lines (written to received), CPU used, the server's RSS, and the loss checks:

- every log line reached every subscriber of its log, once and in order;
- every call a client saw succeed is recorded: runs, job operations, names, and
  each workspace's lastUsedAt from its last checkout;
- every run is finished;
- every subscriber's last view of each row is the row as it ended;
- no call failed and the server logged no error.

The exit status is 1 when a loss check fails. The pytest suite runs a small
version (tests/hardening/test_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2

from tests.support.gqlws import GraphQLWebSocket
from tests.support.postgres import PostgresCluster
from tests.support.server import ServerProcess
from tests.support.supervisors import stop_supervisors

TOKEN = "load-operator-token"
PYTHON = sys.executable
# How long a subscriber may hear nothing: the row streams are quiet for long spells.
QUIET = 3600.0
# Bounds on the end of the run: each is far beyond what a healthy server needs.
DRAIN_TIMEOUT = 120.0
SETTLE_TIMEOUT = 60.0

# The service every workspace runs: line n, then the time it was written, at a rate.
TICKER = """\
import sys, time
rate = float(sys.argv[1])
start = time.time()
n = 0
while True:
    delay = start + n / rate - time.time()
    if delay > 0:
        time.sleep(delay)
    sys.stdout.write(f"{n} {time.time():.6f}\\n")
    sys.stdout.flush()
    n += 1
"""


@dataclass(frozen=True)
class LoadConfig:
    seconds: float = 60.0
    workspaces: int = 20
    subscribers: int = 100
    agents: int = 4
    operators: int = 3
    rate: float = 10.0  # log lines a second, per service

    def __post_init__(self) -> None:
        """Refuse a run that could not be made or would never end, naming the option."""
        limits = {
            "seconds": (0.1, 3600, self.seconds),
            "workspaces": (1, 200, self.workspaces),
            "subscribers": (6, 2000, self.subscribers),  # one of each kind at least
            "agents": (1, self.workspaces, self.agents),  # each agent needs a workspace
            "operators": (0, 100, self.operators),
            "rate": (0.1, 1000, self.rate),
        }
        for name, (low, high, value) in limits.items():
            if not low <= value <= high:
                raise ValueError(f"--{name}: expected {low:g} to {high:g}, got {value:g}")


# GraphQL documents

ERROR = "... on Error { message }"
SERVICE_FIELDS = "id name status pid startedAt stoppedAt exitCode"
WORKSPACE_FIELDS = "id name status branchName"
RUN_FIELDS = "id status startedAt finishedAt"

CREATE_PROJECT = f"""mutation($input: CreateProjectInput!) {{ createProject(input: $input) {{
  __typename ... on Project {{ id }} {ERROR} }} }}"""
CREATE_PROJECT_WORKSPACE = f"""mutation($input: CreateProjectWorkspaceInput!) {{
  createProjectWorkspace(input: $input) {{
    __typename ... on ProjectWorkspace {{ id }} {ERROR} }} }}"""
CREATE_AGENT = f"""mutation($name: String!) {{ createAgent(input: {{name: $name}}) {{
  __typename ... on CreateAgentSuccess {{ token agent {{ id }} }} {ERROR} }} }}"""
CREATE_ISSUE = f"""mutation($input: CreateIssueInput!) {{ createIssue(input: $input) {{
  __typename ... on Issue {{ id identifier }} {ERROR} }} }}"""
CHECKOUT = f"""mutation($issueId: ID!) {{ checkoutIssue(issueId: $issueId) {{
  __typename ... on CheckoutIssueSuccess {{ run {{ id }} workspace {{ id lastUsedAt }} }}
  {ERROR} }} }}"""
FINISH_RUN = f"""mutation($runId: ID!) {{ finishRun(runId: $runId, status: SUCCEEDED) {{
  __typename ... on Run {{ id status }} {ERROR} }} }}"""
RUN_JOB = f"""mutation($id: ID!) {{ runWorkspaceJob(workspaceId: $id, name: "check", wait: true) {{
  __typename ... on RunWorkspaceJobSuccess {{ operation {{ id status exitCode }} }} {ERROR} }} }}"""
START_SERVICE = f"""mutation($id: ID!) {{
  startWorkspaceService(workspaceId: $id, name: "ticker", wait: true) {{
    __typename ... on WorkspaceServicesSuccess {{ services {{ status startOperation {{ id }} }} }}
    {ERROR} }} }}"""
STOP_SERVICE = f"""mutation($id: ID!) {{ stopWorkspaceService(workspaceId: $id, name: "ticker") {{
  __typename ... on WorkspaceServicesSuccess {{ services {{ status }} }} {ERROR} }} }}"""
RENAME = f"""mutation($id: ID!, $name: String!) {{
  saveExecutionWorkspace(id: $id, input: {{name: $name}}) {{
    __typename ... on ExecutionWorkspace {{ id name }} {ERROR} }} }}"""
WORKSPACE_LIST = """query($projectId: ID!) { executionWorkspaces(projectId: $projectId) {
  id name status branchName runtimeConfigSource commands { name kind }
  services { name status pid } issues { identifier liveRun { id } }
  operations { id phase status } } }"""
ISSUE_LIST = """query($projectId: ID!) { issues(projectId: $projectId) {
  id identifier status assignee { name } executionWorkspace { id name } liveRun { id } } }"""

FINAL_SERVICES = (
    f"query($id: ID!) {{ executionWorkspace(id: $id) {{ services {{ {SERVICE_FIELDS} }} }} }}"
)
FINAL_WORKSPACES = f"""query($projectId: ID!) {{ executionWorkspaces(projectId: $projectId) {{
  {WORKSPACE_FIELDS} lastUsedAt operations {{ id phase status exitCode }} }} }}"""
FINAL_RUNS = f"""query($projectId: ID!) {{ issues(projectId: $projectId) {{
  id liveRun {{ id }} runs {{ {RUN_FIELDS} }} }} }}"""

SERVICE_LOG = f"""subscription($workspaceId: ID!, $offset: Int! = 0, $operationId: ID) {{
  serviceLog(
    workspaceId: $workspaceId, name: "ticker", offset: $offset, operationId: $operationId
  ) {{
    __typename ... on OutputChunk {{ operationId content offset nextOffset }} {ERROR} }} }}"""
OPERATION_LOG = f"""subscription($operationId: ID!) {{ operationLog(operationId: $operationId) {{
  __typename ... on OutputChunk {{ operationId content offset nextOffset }} {ERROR} }} }}"""
SERVICE_STATUS = f"""subscription($workspaceId: ID!) {{ serviceStatus(workspaceId: $workspaceId) {{
  __typename ... on RuntimeService {{ {SERVICE_FIELDS} }} {ERROR} }} }}"""
WORKSPACE_CHANGED = f"""subscription($projectId: ID!) {{ workspaceChanged(projectId: $projectId) {{
  __typename ... on ExecutionWorkspace {{ {WORKSPACE_FIELDS} }} {ERROR} }} }}"""
RUN_CHANGED = f"""subscription($projectId: ID!) {{ runChanged(projectId: $projectId) {{
  __typename ... on Run {{ {RUN_FIELDS} }} {ERROR} }} }}"""


# Recording calls


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Calls:
    """GraphQL over HTTP that notes, per kind of call, each success's latency and each failure."""

    def __init__(self, http: httpx2.AsyncClient, operator_token: str) -> None:
        self.http = http
        self.operator_token = operator_token
        self.kinds: defaultdict[str, Kind] = defaultdict(Kind)

    async def call(
        self, kind: str, query: str, variables: dict[str, Any], token: str | None = None
    ) -> Any:
        """The call's result, or None when it failed (the failure is noted).

        Without a token the call is the operator's."""
        started = time.perf_counter()
        try:
            response = await self.http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token or self.operator_token}"},
            )
            body = response.json()
        except Exception as exc:  # a failure under load is a finding, not a crash
            return self._failed(kind, f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started

        if response.status_code != 200 or body.get("errors"):
            return self._failed(kind, f"{response.status_code}: {body.get('errors')}")
        (result,) = body["data"].values()
        if isinstance(result, dict) and "message" in result:
            return self._failed(kind, f"{result['__typename']}: {result['message']}")
        self.kinds[kind].latencies.append(elapsed)
        return result

    def _failed(self, kind: str, error: str) -> None:
        self.kinds[kind].errors.append(error)


# The load's cast


@dataclass
class Workspace:
    id: str
    issue_id: str
    setup_run: str
    service_run: str = ""  # the id of the ticker's start operation


@dataclass
class Agent:
    token: str
    workspaces: list[Workspace]


@dataclass
class Outcomes:
    """What the clients saw succeed."""

    runs: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    jobs: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)  # workspace id -> last name given
    # workspace id -> when its last checkout used it, as that checkout answered
    used: dict[str, datetime] = field(default_factory=dict)


class Subscriber:
    """One subscription, followed until it completes, fails or is stopped.

    With `drop_every`, the connection is cut (as a network failure would) after that
    many events and the subscription taken up again on a new one, from where it was.
    """

    drop_every: int | None = None

    def __init__(self, kind: str, query: str, variables: dict[str, Any]) -> None:
        self.kind = kind
        self.query = query
        self.variables = variables
        self.first = asyncio.Event()
        self.completed = False
        self.error: str | None = None
        self.reconnects = 0

    async def follow(self, url: str, token: str) -> None:
        try:
            while not (self.completed or self.error):
                async with GraphQLWebSocket.connect(url, token) as client:
                    subscription = await client.subscribe(self.query, self.resume_variables())
                    await self._read(client, subscription)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.first.set()  # never leave the start waiting for a stream that failed

    async def _read(self, client: GraphQLWebSocket, subscription: str) -> None:
        taken = 0
        async for value in client.values(subscription, QUIET):
            typename = value.pop("__typename")
            if "message" in value:
                self.error = f"{typename}: {value['message']}"
                return
            self.take(value)
            self.first.set()
            taken += 1
            if taken == self.drop_every:
                client.drop()
                self.reconnects += 1
                return
        self.completed = True

    def resume_variables(self) -> dict[str, Any]:
        return self.variables

    def take(self, value: dict[str, Any]) -> None:
        raise NotImplementedError


class LogSubscriber(Subscriber):
    """A ticker's log: the line numbers as they arrive, and how late each arrived."""

    def __init__(self, kind: str, query: str, variables: dict[str, Any], workspace: Workspace):
        super().__init__(kind, query, variables)
        self.workspace = workspace
        self.numbers: list[int] = []
        self.delays: list[float] = []
        self.gaps: list[str] = []  # chunks that did not start where the last one ended
        self._offset = 0
        self._partial = ""

    def take(self, chunk: dict[str, Any]) -> None:
        if chunk["offset"] != self._offset or chunk["operationId"] != self.workspace.service_run:
            self.gaps.append(f"chunk at {chunk['offset']} of {chunk['operationId']}")
        self._offset = chunk["nextOffset"]
        arrived = time.time()
        *lines, self._partial = (self._partial + chunk["content"]).split("\n")
        for line in lines:
            number, written = line.split()
            self.numbers.append(int(number))
            self.delays.append(arrived - float(written))


class ResumingLogSubscriber(LogSubscriber):
    """A service's log through a flaky network: resumes its run from the last offset."""

    drop_every = 7

    def resume_variables(self) -> dict[str, Any]:
        return {**self.variables, "offset": self._offset, "operationId": self.workspace.service_run}


class RowSubscriber(Subscriber):
    """A row stream: the last version seen of each row."""

    def __init__(self, kind: str, query: str, variables: dict[str, Any], key: str = "id"):
        super().__init__(kind, query, variables)
        self.key = key
        self.rows: dict[str, dict[str, Any]] = {}

    def take(self, row: dict[str, Any]) -> None:
        self.rows[row[self.key]] = row


# Setting up


def make_repository(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# load\n")
    identity = {
        "GIT_AUTHOR_NAME": "load",
        "GIT_AUTHOR_EMAIL": "load@worksite.invalid",
        "GIT_COMMITTER_NAME": "load",
        "GIT_COMMITTER_EMAIL": "load@worksite.invalid",
    }
    for args in (
        ["init", "-q", "--initial-branch=main"],
        ["add", "."],
        ["commit", "-q", "-m", "first"],
    ):
        subprocess.run(
            ["git", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            env={**os.environ, **identity},
        )
    return repo


async def must(
    calls: Calls, kind: str, query: str, variables: dict[str, Any], token: str | None = None
) -> Any:
    result = await calls.call(kind, query, variables, token)
    if result is None:
        raise RuntimeError(f"setting up failed at {kind}: {calls.kinds[kind].errors[-1]}")
    return result


async def set_up(calls: Calls, root: Path, config: LoadConfig) -> tuple[str, list[Agent]]:
    """The project, its agents and one checked-out issue per workspace, services running.

    The checkouts' runs stay open: runChanged subscribers then hear of them at once,
    which tells that they are listening; the agents finish them first thing.
    """
    ticker = root / "ticker.py"
    ticker.write_text(TICKER)
    project = await must(
        calls, "createProject", CREATE_PROJECT, {"input": {"key": "LOAD", "name": "Load"}}
    )
    commands = [
        {
            "name": "ticker",
            "kind": "service",
            "command": f"exec {shlex.quote(PYTHON)} -u {shlex.quote(str(ticker))} {config.rate}",
        },
        {"name": "check", "kind": "job", "command": "echo checked"},
    ]
    await must(
        calls,
        "createProjectWorkspace",
        CREATE_PROJECT_WORKSPACE,
        {
            "input": {
                "projectId": project["id"],
                "name": "main",
                "cwd": str(make_repository(root)),
                "baseRef": "main",
                "runtimeConfig": {"commands": commands},
            }
        },
    )

    agents = []
    for number in range(config.agents):
        created = await must(calls, "createAgent", CREATE_AGENT, {"name": f"agent-{number}"})
        agents.append((created["agent"]["id"], created["token"]))
    workspaces = await _checked_out(calls, project["id"], agents, config.workspaces)

    async def start(workspace: Workspace) -> None:
        started = await must(calls, "startWorkspaceService", START_SERVICE, {"id": workspace.id})
        workspace.service_run = started["services"][0]["startOperation"]["id"]

    await asyncio.gather(*(start(workspace) for workspace in workspaces))
    return project["id"], [
        Agent(token, workspaces[number :: len(agents)]) for number, (_, token) in enumerate(agents)
    ]


async def _checked_out(
    calls: Calls, project_id: str, agents: list[tuple[str, str]], count: int
) -> list[Workspace]:
    workspaces = []
    for number in range(count):
        agent_id, token = agents[number % len(agents)]
        issue = await must(
            calls,
            "createIssue",
            CREATE_ISSUE,
            {
                "input": {
                    "projectId": project_id,
                    "title": f"Task {number}",
                    "assigneeId": agent_id,
                }
            },
        )
        checkout = await must(calls, "checkoutIssue", CHECKOUT, {"issueId": issue["id"]}, token)
        workspaces.append(
            Workspace(checkout["workspace"]["id"], issue["id"], checkout["run"]["id"])
        )
    return workspaces


def subscribers(project_id: str, workspaces: list[Workspace], count: int) -> list[Subscriber]:
    """`count` subscribers: 2/5 serviceLog (a quarter of them dropping their connection
    and resuming), 1/5 operationLog, 1/5 serviceStatus, the rest shared by
    workspaceChanged and runChanged; every kind at least once."""
    logs = 2 * count // 5
    shares = {
        "serviceLog": logs - logs // 4,
        "serviceLog, resuming": logs // 4,
        "operationLog": count // 5,
        "serviceStatus": count // 5,
    }
    rest = max(2, count - sum(shares.values()))
    shares["workspaceChanged"] = rest // 2
    shares["runChanged"] = rest - rest // 2
    made: list[Subscriber] = []
    for kind, share in shares.items():
        for number in range(max(1, share)):
            workspace = workspaces[number % len(workspaces)]
            made.append(_subscriber(kind, project_id, workspace))
    return made


def _subscriber(kind: str, project_id: str, workspace: Workspace) -> Subscriber:
    if kind == "serviceLog":
        return LogSubscriber(kind, SERVICE_LOG, {"workspaceId": workspace.id}, workspace)
    if kind == "serviceLog, resuming":
        return ResumingLogSubscriber(kind, SERVICE_LOG, {"workspaceId": workspace.id}, workspace)
    if kind == "operationLog":
        return LogSubscriber(kind, OPERATION_LOG, {"operationId": workspace.service_run}, workspace)
    if kind == "serviceStatus":
        return RowSubscriber(kind, SERVICE_STATUS, {"workspaceId": workspace.id}, key="name")
    query = WORKSPACE_CHANGED if kind == "workspaceChanged" else RUN_CHANGED
    return RowSubscriber(kind, query, {"projectId": project_id})


# The load


async def agent_loop(calls: Calls, agent: Agent, outcomes: Outcomes, stop: asyncio.Event) -> None:
    """Finish the runs set-up left open, then check out, run a job, finish; again."""
    for workspace in agent.workspaces:
        if await calls.call("finishRun", FINISH_RUN, {"runId": workspace.setup_run}, agent.token):
            outcomes.finished.add(workspace.setup_run)
    while not stop.is_set():
        for workspace in agent.workspaces:
            if stop.is_set():
                return
            await _one_run(calls, agent, workspace, outcomes)


async def _one_run(calls: Calls, agent: Agent, workspace: Workspace, outcomes: Outcomes) -> None:
    checkout = await calls.call(
        "checkoutIssue", CHECKOUT, {"issueId": workspace.issue_id}, agent.token
    )
    if checkout is None:
        return
    run_id = checkout["run"]["id"]
    outcomes.runs.add(run_id)
    used = datetime.fromisoformat(checkout["workspace"]["lastUsedAt"])
    outcomes.used[workspace.id] = max(used, outcomes.used.get(workspace.id, used))
    job = await calls.call("runWorkspaceJob", RUN_JOB, {"id": workspace.id}, agent.token)
    if job is not None:
        outcomes.jobs.add(job["operation"]["id"])
    if await calls.call("finishRun", FINISH_RUN, {"runId": run_id}, agent.token):
        outcomes.finished.add(run_id)


async def reader_loop(calls: Calls, project_id: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await calls.call("executionWorkspaces", WORKSPACE_LIST, {"projectId": project_id})
        await calls.call("issues", ISSUE_LIST, {"projectId": project_id})


async def editor_loop(
    calls: Calls, workspaces: list[Workspace], outcomes: Outcomes, stop: asyncio.Event
) -> None:
    """Rename the workspaces in turn, so workspaceChanged has changes to tell."""
    edit = 0
    while not stop.is_set():
        workspace = workspaces[edit % len(workspaces)]
        name = f"load-{edit % len(workspaces)}-v{edit}"
        if await calls.call("saveExecutionWorkspace", RENAME, {"id": workspace.id, "name": name}):
            outcomes.names[workspace.id] = name
        edit += 1


# Checking


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def check(self, holds: bool, failure: str) -> None:
        if not holds:
            self.failures.append(failure)

    def text(self) -> str:
        verdict = (
            ["loss checks: all passed"]
            if not self.failures
            else [f"loss checks: {len(self.failures)} FAILED", *(f"  - {f}" for f in self.failures)]
        )
        return "\n".join([*self.lines, *verdict])


def log_numbers(data_dir: Path, operation_id: str) -> list[int]:
    """The line numbers in a ticker's log on disk, as the supervisor wrote it."""
    (run_dir,) = data_dir.glob(f"logs/*/{operation_id}")
    text = (run_dir / "output.log").read_text()
    return [int(line.split()[0]) for line in text.splitlines()]


def check_logs(report: Report, data_dir: Path, subscribers: list[LogSubscriber]) -> None:
    on_disk: dict[str, list[int]] = {}
    for subscriber in subscribers:
        run = subscriber.workspace.service_run
        if run not in on_disk:
            on_disk[run] = log_numbers(data_dir, run)
            written = on_disk[run]
            report.check(bool(written), f"the ticker of run {run} wrote nothing")
            report.check(
                written == list(range(len(written))), f"the log of run {run} on disk is not 0..n-1"
            )
        expected = on_disk[run]
        got = subscriber.numbers
        report.check(
            subscriber.completed, f"{subscriber.kind} of {run} did not complete: {subscriber.error}"
        )
        report.check(
            not subscriber.gaps,
            f"{subscriber.kind} of {run}: offsets jumped: {subscriber.gaps[:3]}",
        )
        if got != expected:
            missing = len(set(expected) - set(got))
            duplicates = len(got) - len(set(got))
            report.failures.append(
                f"{subscriber.kind} of {run}: {len(got)} lines of {len(expected)}, {missing} "
                f"missing, {duplicates} duplicated, in order: {got == sorted(got)}"
            )


def check_rows(report: Report, subscriber: RowSubscriber, final: Rows) -> None:
    """Every row the subscriber should know of, as it ended."""
    stale = [key for key, row in final.items() if subscriber.rows.get(key) != row]
    report.check(subscriber.error is None, f"{subscriber.kind} failed: {subscriber.error}")
    if stale:
        key = stale[0]
        report.failures.append(
            f"{subscriber.kind}: {len(stale)} of {len(final)} rows not as they ended; "
            f"e.g. saw {subscriber.rows.get(key)}, ended {final[key]}"
        )


Rows = dict[str, dict[str, Any]]


@dataclass
class Final:
    """The rows as they ended, read once the load is over."""

    services: dict[str, Rows]  # workspace id -> service name -> service
    workspaces: Rows
    runs: Rows
    operations: Rows
    used: dict[str, datetime]  # workspace id -> lastUsedAt
    live_runs: int  # issues that still show a run in progress

    @classmethod
    async def read(cls, calls: Calls, project_id: str, workspaces: list[Workspace]) -> Final:
        services = {}
        for workspace in workspaces:
            data = await must(calls, "final", FINAL_SERVICES, {"id": workspace.id})
            services[workspace.id] = {service["name"]: service for service in data["services"]}
        listed = await must(calls, "final", FINAL_WORKSPACES, {"projectId": project_id})
        issues = await must(calls, "final", FINAL_RUNS, {"projectId": project_id})
        return cls(
            services=services,
            workspaces={w["id"]: {k: w[k] for k in WORKSPACE_FIELDS.split()} for w in listed},
            runs={run["id"]: run for issue in issues for run in issue["runs"]},
            operations={op["id"]: op for w in listed for op in w["operations"]},
            used={w["id"]: datetime.fromisoformat(w["lastUsedAt"]) for w in listed},
            live_runs=sum(1 for issue in issues if issue["liveRun"]),
        )

    def told_last(self, subscriber: RowSubscriber) -> Rows:
        """What a row stream should have told last, row by row."""
        if subscriber.kind == "serviceStatus":
            return self.services[subscriber.variables["workspaceId"]]
        return self.workspaces if subscriber.kind == "workspaceChanged" else self.runs


async def settled(subscribers: list[RowSubscriber], final: Final) -> None:
    """Wait (bounded) until every row stream has told each row as it ended."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        if all(
            s.error is not None
            or all(s.rows.get(k) == row for k, row in final.told_last(s).items())
            for s in subscribers
        ):
            return
        await asyncio.sleep(0.2)


def check_records(
    report: Report, workspaces: list[Workspace], outcomes: Outcomes, final: Final
) -> None:
    """Every call a client saw succeed left its row, and every run has ended."""
    runs = final.runs
    checked_out = outcomes.runs | {workspace.setup_run for workspace in workspaces}
    missing = checked_out - set(runs)
    report.check(
        set(runs) == checked_out,
        f"runs: {len(checked_out)} checkouts succeeded, {len(runs)} runs recorded, "
        f"{len(missing)} of them missing",
    )
    still_running = [run_id for run_id, run in runs.items() if run["status"] == "RUNNING"]
    report.check(
        not still_running and not final.live_runs, f"{len(still_running)} runs still RUNNING"
    )
    unfinished = [r for r in outcomes.finished if runs.get(r, {}).get("status") != "SUCCEEDED"]
    report.check(not unfinished, f"{len(unfinished)} runs finished by a client are not SUCCEEDED")

    jobs = {id: op for id, op in final.operations.items() if op["phase"] == "job"}
    report.check(
        set(jobs) == outcomes.jobs,
        f"jobs: {len(outcomes.jobs)} succeeded for clients, {len(jobs)} recorded",
    )
    failed = [id for id in outcomes.jobs if jobs.get(id, {}).get("exitCode") != 0]
    report.check(not failed, f"{len(failed)} job operations did not end with exit code 0")

    names = final.workspaces
    renamed = [id for id, name in outcomes.names.items() if names[id]["name"] != name]
    report.check(not renamed, f"{len(renamed)} workspaces lost their last rename")
    # Only checkouts set lastUsedAt: an older time than the last one's is a lost update.
    older = [id for id, at in outcomes.used.items() if final.used[id] != at]
    if older:
        id = older[0]
        report.failures.append(
            f"{len(older)} of {len(outcomes.used)} workspaces do not show their last checkout "
            f"as lastUsedAt: e.g. {final.used[id]} after a checkout at {outcomes.used[id]}"
        )


def check_calls(report: Report, calls: Calls, server_log: str) -> None:
    for kind, seen in sorted(calls.kinds.items()):
        if seen.errors:
            report.failures.append(
                f"{kind}: {len(seen.errors)} calls failed, e.g. {seen.errors[0]}"
            )
    errors = [
        line
        for line in server_log.splitlines()
        if " ERROR " in line or "Traceback" in line or "database is locked" in line
    ]
    report.check(not errors, f"the server logged {len(errors)} errors, e.g. {errors[:1]}")


# Figures


def rss_kib(pid: int) -> dict[str, int]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in KiB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


@dataclass(frozen=True)
class Usage:
    """CPU seconds used by the server and by this process; the machine's load average."""

    server: float
    client: float
    load_before: float
    load_after: float

    @classmethod
    def now(cls, pid: int) -> Usage:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = os.sysconf("SC_CLK_TCK")
        own = os.times()
        server = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        load = os.getloadavg()[0]
        return cls(server, own.user + own.system, load, load)

    def __sub__(self, earlier: Usage) -> Usage:
        """The usage between `earlier` and this reading."""
        return Usage(
            self.server - earlier.server,
            self.client - earlier.client,
            earlier.load_before,
            self.load_after,
        )


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def figures(report: Report, calls: Calls, logs: list[LogSubscriber], seconds: float) -> None:
    report.say(f"{'kind':<24} {'calls':>7} {'failed':>6} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, seen in sorted(calls.kinds.items()):
        if kind == "final" or not seen.latencies:
            continue
        report.say(_row(kind, seen.latencies, len(seen.errors), seconds))
    delays = [delay for subscriber in logs for delay in subscriber.delays]
    if delays:
        report.say(_row("log line delivered", delays, 0, seconds))


def _row(kind: str, latencies: list[float], failed: int, seconds: float) -> str:
    return (
        f"{kind:<24} {len(latencies):>7} {failed:>6} {len(latencies) / seconds:>8.1f} "
        f"{quantile(latencies, 0.5) * 1000:>8.1f} {quantile(latencies, 0.99) * 1000:>8.1f}"
    )


# The run


@dataclass
class Measured:
    """What one load run saw, for the figures and the checks."""

    seconds: float
    outcomes: Outcomes
    followers: list[Subscriber]
    final: Final
    usage: Usage
    rss: dict[str, int]  # KiB at start, once set up, and VmRSS/VmHWM at the end

    @property
    def logs(self) -> list[LogSubscriber]:
        return [s for s in self.followers if isinstance(s, LogSubscriber)]

    @property
    def rows(self) -> list[RowSubscriber]:
        return [s for s in self.followers if isinstance(s, RowSubscriber)]


async def run(server: ServerProcess, root: Path, config: LoadConfig) -> Report:
    """The whole load run against a started server; the caller stops the server."""
    assert server.process is not None
    pid = server.process.pid
    rss = {"start": rss_kib(pid)["VmRSS"]}
    limits = httpx2.Limits(max_connections=config.agents + config.operators + 8)
    async with httpx2.AsyncClient(
        base_url=server.url, timeout=300.0, limits=limits, trust_env=False
    ) as http:
        calls = Calls(http, server.token)
        project_id, agents = await set_up(calls, root, config)
        calls.kinds.clear()  # the figures are the load's, not the set-up's
        rss["set up"] = rss_kib(pid)["VmRSS"]
        measured = await under_load(server, calls, project_id, agents, config)
    measured.rss.update(rss, **rss_kib(pid))

    report = Report()
    say_figures(report, config, calls, measured)
    workspaces = [w for agent in agents for w in agent.workspaces]
    check_logs(report, server.data_dir, measured.logs)
    for subscriber in measured.rows:
        check_rows(report, subscriber, measured.final.told_last(subscriber))
    check_records(report, workspaces, measured.outcomes, measured.final)
    check_calls(report, calls, server.log_tail(10**9))
    return report


async def under_load(
    server: ServerProcess, calls: Calls, project_id: str, agents: list[Agent], config: LoadConfig
) -> Measured:
    """Subscribers listening while agents and operators work; then the services stop
    and every stream catches up (or the bounded waits end)."""
    assert server.process is not None
    workspaces = [w for agent in agents for w in agent.workspaces]
    followers = subscribers(project_id, workspaces, config.subscribers)
    async with following(server, followers):
        before = Usage.now(server.process.pid)
        outcomes, seconds = await load(calls, project_id, agents, workspaces, config)
        usage = Usage.now(server.process.pid) - before
        stops = (calls.call("stopWorkspaceService", STOP_SERVICE, {"id": w.id}) for w in workspaces)
        await asyncio.gather(*stops)
        await drained([s for s in followers if isinstance(s, LogSubscriber)])
        final = await Final.read(calls, project_id, workspaces)
        await settled([s for s in followers if isinstance(s, RowSubscriber)], final)
    return Measured(seconds, outcomes, followers, final, usage, {})


def say_figures(report: Report, config: LoadConfig, calls: Calls, measured: Measured) -> None:
    seconds, logs, usage, rss = measured.seconds, measured.logs, measured.usage, measured.rss
    report.say(
        f"load: {config.workspaces} workspaces with a service at {config.rate:g} lines/s, "
        f"{len(measured.followers)} subscribers, {config.agents} agents, {config.operators} "
        f"operators reading and 1 renaming, for {seconds:.1f} s"
    )
    figures(report, calls, logs, seconds)
    lines = sum(len(s.numbers) for s in logs)
    reconnects = sum(s.reconnects for s in logs)
    report.say(
        f"log lines delivered: {lines} to {len(logs)} subscribers ({lines / seconds:.0f}/s); "
        f"the resuming ones reconnected {reconnects} times"
    )
    report.say(
        f"CPU over the load: server {100 * usage.server / seconds:.0f} % of one core, "
        f"this client {100 * usage.client / seconds:.0f} %; machine load average "
        f"{usage.load_before:.1f} before, {usage.load_after:.1f} after ({os.cpu_count()} CPUs)"
    )
    mib = {name: f"{kib / 1024:.1f} MiB" for name, kib in rss.items()}
    report.say(
        f"server RSS: {mib['start']} at start, {mib['set up']} set up, "
        f"{mib['VmHWM']} peak, {mib['VmRSS']} at the end"
    )


@contextlib.asynccontextmanager
async def following(server: ServerProcess, followers: list[Subscriber]) -> AsyncIterator[None]:
    """Subscribers connected and heard from; their connections close on the way out."""
    tasks = [asyncio.create_task(s.follow(server.ws_url, server.token)) for s in followers]
    try:
        await asyncio.wait_for(asyncio.gather(*(s.first.wait() for s in followers)), DRAIN_TIMEOUT)
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def load(
    calls: Calls,
    project_id: str,
    agents: list[Agent],
    workspaces: list[Workspace],
    config: LoadConfig,
) -> tuple[Outcomes, float]:
    """Agents and operators at work for config.seconds; returns what they saw and the time."""
    outcomes, stop = Outcomes(), asyncio.Event()
    workers: list[Awaitable[None]] = [agent_loop(calls, a, outcomes, stop) for a in agents]
    workers += [reader_loop(calls, project_id, stop) for _ in range(config.operators)]
    workers.append(editor_loop(calls, workspaces, outcomes, stop))
    started = time.monotonic()
    asyncio.get_running_loop().call_later(config.seconds, stop.set)
    await asyncio.gather(*workers)
    return outcomes, time.monotonic() - started


async def drained(logs: list[LogSubscriber]) -> None:
    """Wait (bounded) until every log stream has completed or failed."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline and not all(s.completed or s.error for s in logs):
        await asyncio.sleep(0.2)


# The command


@contextlib.contextmanager
def database(kind: str, root: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite://{root / 'worksite.sqlite3'}"
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        cluster.psql("CREATE DATABASE worksite_load")
        yield cluster.url("worksite_load")
    finally:
        cluster.stop()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = LoadConfig()
    for name in ("seconds", "workspaces", "subscribers", "agents", "operators", "rate"):
        kind = float if name in ("seconds", "rate") else int
        parser.add_argument(f"--{name}", type=kind, default=getattr(defaults, name))
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args(argv)
    try:
        config = LoadConfig(**{k: v for k, v in vars(args).items() if k != "database"})
    except ValueError as exc:
        parser.error(str(exc))

    root = Path(tempfile.mkdtemp(prefix="worksite-load-"))
    try:
        with database(args.database, root) as url:
            server = ServerProcess(root / "data", url, TOKEN)
            server.start()
            try:
                report = await run(server, root, config)
            finally:
                server.stop()
                stop_supervisors(server.data_dir)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"database: {args.database}")
    print(report.text())
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
