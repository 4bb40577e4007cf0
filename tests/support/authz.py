"""Who may call what: the authorization matrix, as data, and the code that checks it.

`MATRIX` has one row per case: an operation of the schema, a document, the
variables (from the `World` the check builds first), and the expected outcome for
each caller. The callers are the operator, the agent assigned to the issue that
owns the workspace, another agent with an issue of its own, no token and a wrong
token. Outcomes:

    allow    the operation runs for this caller (any answer but a refusal)
    forbid   mutations: a ForbiddenError; queries: an error with code FORBIDDEN;
             subscriptions: a ForbiddenError event
    hidden   a project-wide stream answers, but only with the caller's own rows
    refused  HTTP 401, or the WebSocket closed with 4403 at connection_init

tests/api/test_authorization.py checks every row on both databases and fails when
an operation of schema.graphql has no row; `scripts/harden security` prints it.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
from graphql import build_schema
from tortoise import Tortoise

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket, Refused
from tests.support.postgres import free_port

ALLOW, FORBID, HIDDEN, REFUSED = "allow", "forbid", "hidden", "refused"
CALLERS = ("operator", "assigned", "other", "none", "wrong")
WRONG_TOKEN = "wsa_not-a-token-of-this-server"
SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
# Answers that show the variables were wrong, so authorization was never reached.
NOT_REACHED = {"NotFoundError", "InvalidInputError"}
SERVICE_COMMAND = f"{shlex.quote(sys.executable)} -u -c " + shlex.quote(
    "import time; print('web ready'); time.sleep(600)"
)


def expect(operator: str, assigned: str, other: str) -> dict[str, str]:
    """Expected outcomes by caller; no token and a wrong token are always refused."""
    return {
        "operator": operator,
        "assigned": assigned,
        "other": other,
        "none": REFUSED,
        "wrong": REFUSED,
    }


OPERATOR_ONLY = expect(ALLOW, FORBID, FORBID)
ISSUE_OWNERS = expect(ALLOW, ALLOW, FORBID)
EVERYONE = expect(ALLOW, ALLOW, ALLOW)
OWN_ROWS_ONLY = expect(ALLOW, ALLOW, HIDDEN)


@dataclass
class World:
    """What the cases act on: one project, two agents with an issue each, and more."""

    repo: Path
    project: str = ""
    project_workspace: str = ""
    environment: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # caller -> token
    agents: dict[str, str] = field(default_factory=dict)  # caller -> agent id
    spare_agent: str = ""  # the one revokeAgent revokes
    issue: str = ""  # assigned to "assigned"; its workspace, run and provision:
    workspace: str = ""
    run: str = ""
    operation: str = ""
    other_issue: str = ""  # the other agent's, with its workspace and run
    other_workspace: str = ""
    other_run: str = ""
    private_keys: list[str] = field(default_factory=list)  # every key sent, for scans


@dataclass(frozen=True)
class Case:
    operation: str  # the root field
    kind: str  # "mutation", "query" or "subscription"
    document: str
    variables: Callable[[World], dict[str, Any]]  # World -> the document's variables
    expected: dict[str, str]
    label: str = ""  # what this row checks, when an operation has several

    @property
    def name(self) -> str:
        return f"{self.operation} ({self.label})" if self.label else self.operation


def _mutation(field_call: str, params: str, success: str) -> str:
    return (
        f"mutation{params} {{ {field_call} {{ __typename ... on {success} {{ __typename }} "
        "... on Error { message } } }"
    )


Variables = Callable[[World], dict[str, Any]]


def m(
    operation: str,
    params: str,
    args: str,
    success: str,
    variables: Variables,
    expected: dict[str, str],
    label: str = "",
) -> Case:
    document = _mutation(f"{operation}({args})", params, success)
    return Case(operation, "mutation", document, variables, expected, label)


def q(
    operation: str,
    document: str,
    variables: Variables,
    expected: dict[str, str],
    label: str = "",
) -> Case:
    return Case(operation, "query", document, variables, expected, label)


def s(operation: str, document: str, variables: Variables, expected: dict[str, str]) -> Case:
    return Case(operation, "subscription", document, variables, expected)


def _issue_input(w: World) -> dict[str, Any]:
    return {"projectId": w.project, "title": "Another issue"}


def _environment_input(w: World) -> dict[str, Any]:
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    w.private_keys.append(key)
    return {
        "name": f"host-{free_port()}",
        "host": "127.0.0.1",
        "port": free_port(),
        "user": "nobody",
        "privateKey": key,
        "trustOnFirstUse": True,
        "rootDir": "/srv/ws",
    }


# The order matters for the allowed calls only, which run in this order after every
# refusal has been checked: the ones that end things (close, revoke) come last.
MATRIX: list[Case] = [
    m(
        "createProject",
        "($i: CreateProjectInput!)",
        "input: $i",
        "Project",
        lambda w: {"i": {"key": f"K{free_port()}", "name": "Another"}},
        OPERATOR_ONLY,
    ),
    m(
        "updateProject",
        "($id: ID!)",
        'id: $id, input: {description: "new"}',
        "Project",
        lambda w: {"id": w.project},
        OPERATOR_ONLY,
    ),
    m(
        "createProjectWorkspace",
        "($i: CreateProjectWorkspaceInput!)",
        "input: $i",
        "ProjectWorkspace",
        lambda w: {
            "i": {
                "projectId": w.project,
                "name": f"pw{free_port()}",
                "cwd": str(w.repo),
                "provisionCommand": "touch owned",
            }
        },
        OPERATOR_ONLY,
    ),
    m(
        "updateProjectWorkspace",
        "($id: ID!)",
        'id: $id, input: {cleanupCommand: "true"}',
        "ProjectWorkspace",
        lambda w: {"id": w.project_workspace},
        OPERATOR_ONLY,
    ),
    m(
        "createAgent",
        "",
        'input: {name: "intruder"}',
        "CreateAgentSuccess",
        lambda w: {},
        OPERATOR_ONLY,
    ),
    m(
        "createIssue",
        "($i: CreateIssueInput!)",
        "input: $i",
        "Issue",
        lambda w: {"i": _issue_input(w)},
        OPERATOR_ONLY,
    ),
    m(
        "updateIssue",
        "($id: ID!)",
        'id: $id, input: {title: "Renamed"}',
        "Issue",
        lambda w: {"id": w.issue},
        ISSUE_OWNERS,
        "title",
    ),
    m(
        "updateIssue",
        "($id: ID!, $a: ID!)",
        "id: $id, input: {assigneeId: $a}",
        "Issue",
        lambda w: {"id": w.issue, "a": w.agents["assigned"]},
        OPERATOR_ONLY,
        "assignee",
    ),
    m(
        "checkoutIssue",
        "($id: ID!)",
        "issueId: $id",
        "CheckoutIssueSuccess",
        lambda w: {"id": w.issue},
        ISSUE_OWNERS,
    ),
    m(
        "saveExecutionWorkspace",
        "($id: ID!)",
        'id: $id, input: {name: "renamed"}',
        "ExecutionWorkspace",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
        "name",
    ),
    m(
        "saveExecutionWorkspace",
        "($id: ID!)",
        'id: $id, input: {provisionCommand: "id"}',
        "ExecutionWorkspace",
        lambda w: {"id": w.workspace},
        OPERATOR_ONLY,
        "a host-executed command",
    ),
    m(
        "saveExecutionWorkspace",
        "($id: ID!)",
        'id: $id, input: {runtimeOverride: {commands: [{name: "x", kind: "job", command: "id"}]}}',
        "ExecutionWorkspace",
        lambda w: {"id": w.workspace},
        OPERATOR_ONLY,
        "runtime override",
    ),
    m(
        "resetExecutionWorkspaceRuntime",
        "($id: ID!)",
        "id: $id",
        "ExecutionWorkspace",
        lambda w: {"id": w.workspace},
        OPERATOR_ONLY,
    ),
    m(
        "deriveExecutionWorkspace",
        "($id: ID!)",
        "id: $id",
        "ExecutionWorkspace",
        lambda w: {"id": w.workspace},
        OPERATOR_ONLY,
    ),
    m(
        "startWorkspaceService",
        "($id: ID!)",
        'workspaceId: $id, name: "web", wait: true',
        "WorkspaceServicesSuccess",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    m(
        "restartWorkspaceService",
        "($id: ID!)",
        'workspaceId: $id, name: "web", wait: true',
        "WorkspaceServicesSuccess",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    m(
        "stopWorkspaceService",
        "($id: ID!)",
        'workspaceId: $id, name: "web"',
        "WorkspaceServicesSuccess",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    m(
        "runWorkspaceJob",
        "($id: ID!)",
        'workspaceId: $id, name: "hello", wait: true',
        "RunWorkspaceJobSuccess",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    m(
        "createEnvironment",
        "($i: CreateEnvironmentInput!)",
        "input: $i",
        "Environment",
        lambda w: {"i": _environment_input(w)},
        OPERATOR_ONLY,
    ),
    m(
        "updateEnvironment",
        "($id: ID!)",
        'id: $id, input: {rootDir: "/srv/other"}',
        "Environment",
        lambda w: {"id": w.environment},
        OPERATOR_ONLY,
    ),
    m(
        "testEnvironment",
        "($id: ID!)",
        "id: $id",
        "EnvironmentTest",
        lambda w: {"id": w.environment},
        OPERATOR_ONLY,
    ),
    m(
        "finishRun",
        "($id: ID!)",
        "runId: $id, status: SUCCEEDED",
        "Run",
        lambda w: {"id": w.run},
        ISSUE_OWNERS,
    ),
    m(
        "closeExecutionWorkspace",
        "($id: ID!)",
        "id: $id, force: true",
        "ExecutionWorkspace",
        lambda w: {"id": w.workspace},
        OPERATOR_ONLY,
    ),
    m(
        "revokeAgent",
        "($id: ID!)",
        "agentId: $id",
        "Agent",
        lambda w: {"id": w.spare_agent},
        OPERATOR_ONLY,
    ),
    # Reads are shared between operators and agents; the output of commands is not.
    q("viewer", "{ viewer { role name } }", lambda w: {}, EVERYONE),
    q("agents", "{ agents(includeRevoked: true) { id name revokedAt } }", lambda w: {}, EVERYONE),
    q("environments", "{ environments { id name host hasPrivateKey } }", lambda w: {}, EVERYONE),
    q(
        "environment",
        "query($id: ID!) { environment(id: $id) { id hasPrivateKey } }",
        lambda w: {"id": w.environment},
        EVERYONE,
    ),
    q("projects", "{ projects { id key } }", lambda w: {}, EVERYONE),
    q(
        "project",
        "query($id: ID!) { project(id: $id) { id key } }",
        lambda w: {"id": w.project},
        EVERYONE,
    ),
    q(
        "executionWorkspaces",
        "query($p: ID!) { executionWorkspaces(projectId: $p) { id } }",
        lambda w: {"p": w.project},
        EVERYONE,
    ),
    q(
        "executionWorkspace",
        "query($id: ID!) { executionWorkspace(id: $id) { id status } }",
        lambda w: {"id": w.workspace},
        EVERYONE,
    ),
    q(
        "executionWorkspace",
        "query($id: ID!) { executionWorkspace(id: $id) { operations { stdoutExcerpt } } }",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
        "output excerpts",
    ),
    q(
        "issues",
        "query($p: ID!) { issues(projectId: $p) { id identifier } }",
        lambda w: {"p": w.project},
        EVERYONE,
    ),
    q(
        "issue",
        "query($id: ID!) { issue(id: $id) { id identifier } }",
        lambda w: {"id": w.issue},
        EVERYONE,
    ),
    q(
        "operation",
        "query($id: ID!) { operation(id: $id) { id phase status } }",
        lambda w: {"id": w.operation},
        EVERYONE,
    ),
    q(
        "operation",
        "query($id: ID!) { operation(id: $id) { stdoutExcerpt stderrExcerpt } }",
        lambda w: {"id": w.operation},
        ISSUE_OWNERS,
        "output excerpts",
    ),
    q(
        "operation",
        "query($id: ID!) { operation(id: $id) { log { content } } }",
        lambda w: {"id": w.operation},
        ISSUE_OWNERS,
        "log",
    ),
    s(
        "workspaceOperations",
        "subscription($id: ID!) { workspaceOperations(workspaceId: $id) { __typename "
        "... on WorkspaceOperation { id } ... on Error { message } } }",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    s(
        "operationLog",
        "subscription($id: ID!) { operationLog(operationId: $id) { __typename "
        "... on OutputChunk { operationId } ... on Error { message } } }",
        lambda w: {"id": w.operation},
        ISSUE_OWNERS,
    ),
    s(
        "serviceStatus",
        "subscription($id: ID!) { serviceStatus(workspaceId: $id) { __typename "
        "... on RuntimeService { id } ... on Error { message } } }",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    s(
        "serviceLog",
        'subscription($id: ID!) { serviceLog(workspaceId: $id, name: "web") { __typename '
        "... on OutputChunk { operationId } ... on Error { message } } }",
        lambda w: {"id": w.workspace},
        ISSUE_OWNERS,
    ),
    s(
        "workspaceChanged",
        "subscription($id: ID!) { workspaceChanged(projectId: $id) { __typename "
        "... on ExecutionWorkspace { id } ... on Error { message } } }",
        lambda w: {"id": w.project},
        OWN_ROWS_ONLY,
    ),
    s(
        "runChanged",
        "subscription($id: ID!) { runChanged(projectId: $id) { __typename "
        "... on Run { id } ... on Error { message } } }",
        lambda w: {"id": w.project},
        OWN_ROWS_ONLY,
    ),
    s(
        "issueChanged",
        "subscription($id: ID!) { issueChanged(projectId: $id) { __typename "
        "... on Issue { id } ... on Error { message } } }",
        lambda w: {"id": w.project},
        OWN_ROWS_ONLY,
    ),
]


def schema_operations() -> dict[str, set[str]]:
    """Every root field of schema.graphql, by kind."""
    schema = build_schema(SCHEMA.read_text())
    roots = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }
    return {kind: set(root.fields) if root else set() for kind, root in roots.items()}


def missing_rows() -> list[str]:
    """Operations of the schema that the matrix says nothing about."""
    covered = {(case.kind, case.operation) for case in MATRIX}
    return sorted(
        f"{kind} {name}"
        for kind, names in schema_operations().items()
        for name in names
        if (kind, name) not in covered
    )


# Building the world


async def build_world(api: Api, repo: Path) -> World:
    """A project on `repo`, an SSH environment, three agents, two issues checked out."""
    world = World(repo=repo)
    project = await api.project("AUTH")
    world.project = project["id"]
    commands = [
        {"name": "web", "kind": "service", "command": SERVICE_COMMAND},
        {"name": "hello", "kind": "job", "command": "echo hello"},
    ]
    created = await api.project_workspace(
        world.project,
        cwd=str(repo),
        baseRef="main",
        provisionCommand="echo provisioned",
        runtimeConfig={"commands": commands},
    )
    world.project_workspace = created["id"]
    environment = await api.ok(
        "mutation($i: CreateEnvironmentInput!) { createEnvironment(input: $i) { "
        "__typename ... on Environment { id } ... on Error { message } } }",
        {"i": _environment_input(world)},
    )
    world.environment = environment["id"]

    for caller in ("assigned", "other"):
        world.agents[caller], world.tokens[caller] = await api.agent(f"{caller}-agent")
    world.spare_agent, _ = await api.agent("spare-agent")
    world.tokens["operator"] = api.operator_token
    world.tokens["wrong"] = WRONG_TOKEN

    # The assigned agent's issue first: its workspace and run are the older ones.
    for caller in ("assigned", "other"):
        issue = await api.issue(world.project, f"Work of {caller}", assigneeId=world.agents[caller])
        checkout = await api.checkout(issue["id"], world.tokens[caller])
        assert checkout["__typename"] == "CheckoutIssueSuccess", checkout
        if caller == "assigned":
            world.issue = issue["id"]
            world.workspace = checkout["workspace"]["id"]
            world.run = checkout["run"]["id"]
            world.operation = checkout["workspace"]["operations"][0]["id"]
        else:
            world.other_issue = issue["id"]
            world.other_workspace = checkout["workspace"]["id"]
            world.other_run = checkout["run"]["id"]
    return world


# Checking a case over HTTP


@dataclass
class Outcome:
    case: Case
    caller: str
    expected: str
    answer: str  # what came back, briefly
    body: str = ""  # the whole answer, for the secret scan

    @property
    def row(self) -> tuple[str, str, str, str]:
        return (self.case.name, self.caller, self.expected, self.answer)


async def check_http(api: Api, world: World, case: Case, caller: str) -> Outcome:
    """Call a query or mutation as `caller`; AssertionError unless the outcome is expected."""
    expected = case.expected[caller]
    token = world.tokens.get(caller)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = {"query": case.document, "variables": case.variables(world)}
    response = await api.client.post("/graphql", json=payload, headers=headers)
    where = f"{case.name} as {caller}"

    if expected == REFUSED:
        assert response.status_code == 401, f"{where}: {response.status_code} {response.text}"
        return Outcome(case, caller, expected, "401", response.text)
    assert response.status_code == 200, f"{where}: {response.status_code} {response.text}"
    body = response.json()
    errors = body.get("errors") or []
    codes = {(e.get("extensions") or {}).get("code") for e in errors}

    if case.kind == "query":
        if expected == FORBID:
            assert codes == {"FORBIDDEN"}, f"{where}: expected FORBIDDEN, got {body}"
            return Outcome(case, caller, expected, "FORBIDDEN", response.text)
        assert not errors, f"{where}: {errors}"
        return Outcome(case, caller, expected, "data", response.text)

    assert not errors, f"{where}: {errors}"
    (result,) = body["data"].values()
    typename = result["__typename"]
    if expected == FORBID:
        assert typename == "ForbiddenError", f"{where}: expected ForbiddenError, got {result}"
    else:
        assert typename != "ForbiddenError" and typename not in NOT_REACHED, f"{where}: {result}"
    return Outcome(case, caller, expected, typename, response.text)


async def check_mutations_and_queries(api: Api, world: World) -> list[Outcome]:
    """Every refusal first (and that it changed nothing), then every allowed call."""
    cases = [case for case in MATRIX if case.kind != "subscription"]
    before = await database_snapshot()
    outcomes = [
        await check_http(api, world, case, caller)
        for case in cases
        for caller in CALLERS
        if case.expected[caller] != ALLOW
    ]
    after = await database_snapshot()
    changed = sorted(table for table in before if before[table] != after[table])
    assert not changed, f"refused calls changed the tables {changed}"
    for case in cases:
        for caller in CALLERS:
            if case.expected[caller] == ALLOW:
                outcomes.append(await check_http(api, world, case, caller))
    return outcomes


async def database_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    snapshot = {}
    for model in Tortoise.apps["worksite"].values():
        rows = await model.all().values_list(*model._meta.fields_db_projection)
        snapshot[model._meta.db_table] = sorted(rows, key=repr)
    return snapshot


# Checking a subscription over a real WebSocket


async def check_subscription(ws_url: str, world: World, case: Case, caller: str) -> Outcome:
    expected = case.expected[caller]
    token = world.tokens.get(caller)
    where = f"{case.name} as {caller}"
    if expected == REFUSED:
        refusal = await _refusal(ws_url, token)
        assert refusal == 4403, f"{where}: expected 4403 at connection_init, got {refusal}"
        return Outcome(case, caller, expected, "4403")

    async with GraphQLWebSocket.connect(ws_url, token) as client:
        subscription = await client.subscribe(case.document, case.variables(world))
        first = await client.next_value(subscription)
    typename = first["__typename"]
    if expected == FORBID:
        assert typename == "ForbiddenError", f"{where}: expected ForbiddenError, got {first}"
    elif expected == HIDDEN:
        # Project-wide streams send the oldest rows first: the assigned agent's
        # workspace, run and issue came before the caller's own, so were left out.
        own = {world.other_workspace, world.other_run, world.other_issue}
        assert first.get("id") in own, f"{where}: got {first}, not the caller's own row"
    else:
        assert typename != "ForbiddenError" and typename not in NOT_REACHED, f"{where}: {first}"
    return Outcome(case, caller, expected, typename, json.dumps(first))


async def _refusal(ws_url: str, token: str | None) -> int | None:
    try:
        async with GraphQLWebSocket.connect(ws_url, token):
            return None
    except Refused as refused:
        return refused.code


async def check_subscriptions(ws_url: str, world: World) -> list[Outcome]:
    return [
        await check_subscription(ws_url, world, case, caller)
        for case in MATRIX
        if case.kind == "subscription"
        for caller in CALLERS
    ]
