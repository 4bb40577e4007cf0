"""Bad input for every mutation: the strategies, the invariants, and a runner.

Shared by the bounded pytest suite (tests/api/test_bad_input.py) and the bigger run
that prints figures (`scripts/harden input`). Everything goes through the real
GraphQL app against a real git repository and a real worktree, in a *world* that a
background thread's event loop hosts, so that Hypothesis (which is synchronous)
can drive it one example at a time.

For each example the answer must be a typed success or a typed error of the
mutation's union, or a refusal by the schema itself (a value GraphQL's types cannot
hold, such as an Int beyond 32 bits, refused before any resolver runs), never an
internal error and never an HTTP 500. On anything but success, the rows, the
worktrees' files, the git refs and the set of running processes are what they were
before. On success, a value the mutation stored reads back as it was sent (after
the documented normalisation), and a mutation that runs nothing started nothing.

Commands are shell text by design: an operator's provision command runs. The
strategies therefore never store a command that does harm when run: random text
goes inside a quoted no-op (`: '...'`), next to a fixed list of odd but harmless
commands. Hosts, repository URLs and environments that a later example could
connect to are loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import subprocess
import threading
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import asyncssh
import httpx2
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support.api import Api
from tests.support.postgres import free_port
from tests.support.supervisors import live_supervisors
from worksite.app import create_app
from worksite.domain import runtime_config
from worksite.models import (
    Agent,
    Environment,
    ExecutionWorkspace,
    Issue,
    IssueWorkspaceLink,
    Operation,
    PortLease,
    Project,
    ProjectWorkspace,
    Run,
    RuntimeService,
)
from worksite.settings import Settings

ERROR_TYPES = {
    "NotFoundError",
    "InvalidInputError",
    "ConflictError",
    "ForbiddenError",
    "ProvisionFailedError",
}
# Rows change on their own as services and jobs that an earlier example started go
# on running; these columns are the monitor's, not the client's.
VOLATILE = {
    "updated_at",
    "last_used_at",
    "status_changed_at",
    "started_at",
    "ready_at",
    "stopped_at",
    "finished_at",
    "exit_code",
    "pid",
    "health",
    "stdout_excerpt",
    "stderr_excerpt",
    "supervisor_pid",
    "supervisor_start_ticks",
    "log_size",
}
VOLATILE_BY_MODEL = {"Operation": {"status"}, "RuntimeService": {"status", "operation_id"}}
MODELS = (
    Project,
    ProjectWorkspace,
    Environment,
    Agent,
    Issue,
    IssueWorkspaceLink,
    Run,
    ExecutionWorkspace,
    Operation,
    RuntimeService,
    PortLease,
)
# Mutations that may start a process (or make a worktree) when they succeed.
RUNS_THINGS = {
    "checkoutIssue",
    "deriveExecutionWorkspace",
    "closeExecutionWorkspace",
    "startWorkspaceService",
    "stopWorkspaceService",
    "restartWorkspaceService",
    "runWorkspaceJob",
}
EXAMPLE_TIMEOUT = 300.0
# Refs sent empty leave the stored one as it was (the documented meaning of "").
KEPT_WHEN_EMPTY = {"branchName", "baseRef"}


# ---------------------------------------------------------------- strategies

ODD_TEXT = [
    "",
    " ",
    "-x",
    "--upload-pack=touch /tmp/worksite-pwned",
    "--output=/tmp/x",
    ";rm -rf ~",
    "$(touch /tmp/worksite-pwned)",
    "`id`",
    "a\nb",
    "name\n",
    "\nname",
    "x\r\n",
    "..",
    "../..",
    "a/../../b",
    "@{",
    "@{-1}",
    "HEAD~1",
    "main^",
    "main^{tree}",
    "x.lock",
    "refs/heads/x.lock",
    "a..b",
    ".hidden",
    "trailing/",
    "trailing.",
    "/abs",
    "//double",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\u202eevil\u202c",
    "e\u0301\u0301\u0301",
    "\u200b",
    "\U0001f600",
    "\ufb01",
    "null",
    "{}",
    "[]",
    "'; DROP TABLE project; --",
    "%s%n",
    "\\",
    "*",
    "?",
    "[",
    ":",
    "~user",
    "\x1b[31mred",
    "\x7f",
    "\t",
    "PAP\n",
    "AB",
]
# Odd shell text that is still harmless when a test run executes it.
HARMLESS_COMMANDS = [
    "true",
    "-x",
    "--upload-pack=true",
    "echo $(printf x)",
    "echo `printf x`",
    "echo ';rm -rf ~'",
    ": \u202e\u0301",
    "exit 3",
    "echo \U0001f600",
    "true #\n: more",
]
ODD_REFS = [
    "main",
    "HEAD",
    "-x",
    "--upload-pack=x",
    "@",
    "@{",
    "a@{b",
    "~",
    "^",
    "x.lock",
    "a..b",
    "refs/heads/main",
    "feature/x",
    "a//b",
    ".x",
    "x.",
    "x/",
    "HEAD~1",
    "main^",
    "a b",
    "a:b",
    "a?b",
    "a*b",
    "a[b",
    "a\\b",
    "main\n",
    "-",
    "ok-branch",
    "x" * 201,
    "é",
    "refs/heads/../x",
]
BIG_INTS = [
    0,
    -1,
    1,
    65535,
    65536,
    70000,
    2**31 - 1,
    -(2**31),
    2**31,
    -(2**31) - 1,
    2**53 + 1,
    2**63,
    10**30,
]


def surrogate_text() -> st.SearchStrategy[str]:
    """Text that may hold lone surrogates, which JSON can carry as \\uD800 escapes."""
    return st.text(st.characters(codec=None, categories=None), max_size=40)


def odd_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(max_size=40),
        surrogate_text(),
        st.builds(
            lambda char, count: char * count,
            st.sampled_from(["a", "\u00e9", "\U0001f600", " ", "-"]),
            st.sampled_from([201, 2001, 10_001, 100_001, 300_000]),
        ),
        st.lists(st.sampled_from(ODD_TEXT), min_size=2, max_size=4).map("".join),
    )


def plain_name() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z][A-Za-z0-9 ._-]{0,30}", fullmatch=True)


def name_text() -> st.SearchStrategy[str]:
    return st.one_of(plain_name(), odd_text())


def big_int() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(BIG_INTS), st.integers(-(2**40), 2**40))


def command_text() -> st.SearchStrategy[str]:
    """Shell text that never does anything when run."""
    return st.one_of(
        st.sampled_from(HARMLESS_COMMANDS),
        odd_text().filter(lambda s: "\x00" not in s).map(lambda s: ": " + shlex.quote(s)),
        st.sampled_from(["\x00", "true\x00rm", "x" * 10_001]),  # refused, never run
    )


def ref_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(ODD_REFS), odd_text())


def json_leaf() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        big_int(),
        st.floats(allow_nan=False, allow_infinity=False),
        odd_text(),
    )


def nested_json() -> st.SearchStrategy[Any]:
    return st.recursive(
        json_leaf(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(["commands", "services", "name", "kind", "x"]) | odd_text(),
                inner,
                max_size=4,
            )
        ),
        max_leaves=20,
    )


@dataclass
class World:
    """What the examples aim at: real rows, a real repo, a real worktree."""

    api: Api
    settings: Settings
    repo: Path
    outside: Path
    ids: dict[str, str] = field(default_factory=dict)
    agent_token: str = ""
    worktree: Path = Path()
    private_key: str = ""

    def paths(self) -> list[str]:
        tree = str(self.worktree)
        return [
            tree,
            f"{tree}/escape",
            f"{tree}/escape/inner",
            f"{tree}/../x",
            f"{tree}/.",
            f"{tree}//sub",
            str(self.outside),
            str(self.repo),
            str(self.settings.sandbox_dir),
            "/",
            "/etc",
            "escape",
            "./escape",
            "escape/..",
            "sub/../../x",
            "../outside",
            "relative",
            "",
            ".",
            "/tmp/\x00x",
            "/tmp/a\nb",
            "/" + "x" * 5000,
        ]

    def id_of(self, *kinds: str) -> st.SearchStrategy[str]:
        """An id of one of these kinds, another entity's id, or no id at all."""
        mine = [self.ids[k] for k in kinds if k in self.ids]
        others = [v for k, v in self.ids.items() if k not in kinds]
        choices = [st.sampled_from(others), st.uuids().map(str), odd_text()]
        if mine:
            choices[:0] = [st.sampled_from(mine)] * 2
        return st.one_of(choices)

    def path_text(self) -> st.SearchStrategy[str]:
        return st.one_of(st.sampled_from(self.paths()), odd_text())

    def repo_url(self) -> st.SearchStrategy[str]:
        # Accepted URLs stay on this machine: a later checkout may fetch from them.
        return st.one_of(
            st.sampled_from(
                [
                    str(self.repo),
                    f"file://{self.repo}",
                    "https://127.0.0.1:9/x.git",
                    "ssh://127.0.0.1:9/x",
                    "git@127.0.0.1:x",
                    "-u",
                    "--upload-pack=x",
                    "ext::sh -c touch% /tmp/worksite-pwned",
                    "https://\x00",
                    "file:///\n",
                ]
            ),
            odd_text().filter(lambda s: "@" not in s and "//" not in s),
        )

    def runtime_config(self) -> st.SearchStrategy[Any]:
        entry = st.fixed_dictionaries(
            {"name": st.one_of(st.sampled_from(["hello", "idle", "x", "a:b"]), name_text())},
            optional={
                "kind": st.sampled_from(["job", "service", "daemon", "", None, 1]),
                "command": command_text(),
                "cwd": st.one_of(st.sampled_from(self.paths()), odd_text()),
                "env": st.dictionaries(
                    st.one_of(st.sampled_from(["PATH", "X_1", "1X", "A-B", "PATH\n"]), odd_text()),
                    st.one_of(odd_text().filter(lambda s: "\x00" not in s), json_leaf()),
                    max_size=3,
                ),
                "port": st.one_of(st.just("auto"), big_int(), odd_text()),
                "readiness": st.one_of(
                    st.fixed_dictionaries({"tcp": st.one_of(st.just("auto"), big_int())}),
                    st.fixed_dictionaries(
                        {
                            "http": st.sampled_from(
                                ["http://127.0.0.1:9/", "ftp://x", "http://", "https://[::1]:9/"]
                            )
                        }
                    ),
                    st.fixed_dictionaries({"command": command_text()}),
                    nested_json(),
                ),
                "extra": json_leaf(),
            },
        )
        document = st.fixed_dictionaries(
            {},
            optional={
                "commands": st.lists(entry, max_size=3) | nested_json(),
                "services": st.lists(entry, max_size=2),
            },
        )
        as_text = document.map(json.dumps)
        deep = st.sampled_from(
            [
                "[" * 5000 + "]" * 5000,
                '{"commands": ' + "[" * 3000 + "]" * 3000 + "}",
                '{"commands": [',
                "{'commands': []}",
                "NaN",
                "1e999",
            ]
        )
        return st.one_of(document, document, as_text, nested_json(), deep, st.none())


# ---------------------------------------------------------------- the mutations

TYPED = "__typename ... on Error { message } ... on InvalidInputError { field }"
PROJECT = "id key name description defaultWorkspaceMode cleanupRetentionSeconds"
PROJECT_WORKSPACE = (
    "id name cwd repoUrl baseRef provisionCommand cleanupCommand teardownCommand "
    "runtimeConfig isPrimary"
)
WORKSPACE = (
    "id name status branchName cwd providerRef repoUrl baseRef provisionCommand "
    "cleanupCommand teardownCommand runtimeOverride"
)
ISSUE = "id title description status priority workspaceMode"
ENVIRONMENT = "id name host port user rootDir hostKey trustOnFirstUse"


@dataclass
class Case:
    """One mutation: its document, how to draw its variables, and what to read back."""

    name: str
    document: str
    variables: Callable[[World], st.SearchStrategy[dict[str, Any]]]
    # The query that reads a stored object back by id, and the fields compared.
    read_back: str | None = None
    compared: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    agent_may_try: bool = True


def doc(signature: str, call: str, success: str) -> str:
    return f"mutation{signature} {{ {call} {{ {TYPED} {success} }} }}"


def same(value: Any) -> Any:
    return value


def stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def posix_path(value: Any) -> Any:
    return str(PurePosixPath(value)) if value else ""


def parsed_config(value: Any) -> Any:
    return runtime_config.parse(value, "runtimeConfig")


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def enum(*values: str) -> st.SearchStrategy[Any]:
    # Now and then a value the enum does not hold: the schema refuses it.
    return st.one_of(
        st.sampled_from(values),
        st.sampled_from(values),
        st.sampled_from(["", "nope", "isolated"]),
        st.none(),
    )


MODES = ("ISOLATED", "REUSE", "PROJECT_PRIMARY")
STATUSES = ("BACKLOG", "TODO", "IN_PROGRESS", "IN_REVIEW", "DONE", "CANCELLED")
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")


def project_workspace_input(world: World) -> st.SearchStrategy[dict[str, Any]]:
    return optional(
        name=name_text(),
        repoUrl=world.repo_url(),
        baseRef=ref_text(),
        cwd=world.path_text(),
        # Never the environment the edit cases change: its host may be anything.
        environmentId=st.one_of(
            st.sampled_from([world.ids["local_environment"], world.ids["environment"]]),
            world.id_of("none"),
        ),
        isPrimary=st.booleans(),
        provisionCommand=command_text(),
        cleanupCommand=command_text(),
        teardownCommand=command_text(),
        runtimeConfig=world.runtime_config(),
    )


def issue_input(world: World) -> st.SearchStrategy[dict[str, Any]]:
    return optional(
        title=name_text(),
        description=odd_text(),
        status=enum(*STATUSES),
        priority=enum(*PRIORITIES),
        assigneeId=world.id_of("agent"),
        parentId=world.id_of("issue", "other_issue"),
        inheritExecutionWorkspaceFromIssueId=world.id_of("issue", "other_issue"),
        workspaceMode=enum(*MODES),
    )


def environment_input(world: World) -> st.SearchStrategy[dict[str, Any]]:
    return optional(
        name=name_text(),
        host=st.one_of(
            st.sampled_from(
                ["127.0.0.1", "::1", "[::1]", "localhost", "-oProxyCommand=x", "a b", "host\n"]
            ),
            odd_text(),
        ),
        port=big_int(),
        user=st.one_of(st.sampled_from(["worksite", "-l", "root\n", "a;b"]), odd_text()),
        privateKey=st.one_of(st.just(world.private_key), odd_text()),
        hostKey=st.one_of(st.sampled_from(["SHA256:abc", "ssh-ed25519 AAAA", ""]), odd_text()),
        trustOnFirstUse=st.booleans(),
        rootDir=world.path_text(),
    )


def workspace_input(world: World) -> st.SearchStrategy[dict[str, Any]]:
    return optional(
        name=name_text(),
        branchName=ref_text(),
        cwd=world.path_text(),
        providerRef=odd_text(),
        repoUrl=world.repo_url(),
        baseRef=ref_text(),
        provisionCommand=command_text(),
        teardownCommand=command_text(),
        cleanupCommand=command_text(),
        runtimeOverride=world.runtime_config(),
    )


def command_name(world: World) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["hello", "idle", "through-link", "missing"]), name_text())


def cases() -> list[Case]:
    project_fields = {"name": stripped, "description": same, "cleanupRetentionSeconds": same}
    project_workspace_fields = {
        "name": stripped,
        "cwd": posix_path,
        "baseRef": same,
        "provisionCommand": same,
        "cleanupCommand": same,
        "teardownCommand": same,
        "runtimeConfig": parsed_config,
    }
    workspace_fields = {
        "name": stripped,
        "cwd": posix_path,
        "branchName": same,
        "baseRef": same,
        "providerRef": same,
        "provisionCommand": same,
        "teardownCommand": same,
        "cleanupCommand": same,
        "runtimeOverride": parsed_config,
    }
    environment_fields = {"name": stripped, "port": same, "user": same, "rootDir": posix_path}
    read_project = f"query($id: ID!) {{ node: project(id: $id) {{ {PROJECT} }} }}"
    read_workspace = f"query($id: ID!) {{ node: executionWorkspace(id: $id) {{ {WORKSPACE} }} }}"
    read_issue = f"query($id: ID!) {{ node: issue(id: $id) {{ {ISSUE} }} }}"
    read_environment = f"query($id: ID!) {{ node: environment(id: $id) {{ {ENVIRONMENT} }} }}"
    read_project_workspace = f"query {{ projects {{ workspaces {{ {PROJECT_WORKSPACE} }} }} }}"
    return [
        Case(
            "createProject",
            doc(
                "($input: CreateProjectInput!)",
                "createProject(input: $input)",
                f"... on Project {{ {PROJECT} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "input": st.fixed_dictionaries(
                        {
                            "key": st.one_of(
                                st.sampled_from(["AB", "BAD", "A", "ab", "A" * 11, "PAP\n", "Q1"]),
                                st.from_regex(r"[A-Z][A-Z0-9]{1,9}", fullmatch=True),
                                odd_text(),
                            ),
                            "name": name_text(),
                        },
                        optional={"description": odd_text(), "defaultWorkspaceMode": enum(*MODES)},
                    )
                }
            ),
            read_project,
            {"key": same, **project_fields},
        ),
        Case(
            "updateProject",
            doc(
                "($id: ID!, $input: UpdateProjectInput!)",
                "updateProject(id: $id, input: $input)",
                f"... on Project {{ {PROJECT} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "id": w.id_of("project"),
                    "input": optional(
                        name=name_text(),
                        description=odd_text(),
                        defaultWorkspaceMode=enum(*MODES),
                        cleanupRetentionSeconds=st.one_of(big_int(), st.none()),
                    ),
                }
            ),
            read_project,
            project_fields,
        ),
        Case(
            "createProjectWorkspace",
            doc(
                "($input: CreateProjectWorkspaceInput!)",
                "createProjectWorkspace(input: $input)",
                f"... on ProjectWorkspace {{ {PROJECT_WORKSPACE} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "input": project_workspace_input(w).flatmap(
                        lambda fields: w.id_of("project").map(lambda p: {**fields, "projectId": p})
                    )
                }
            ),
            read_project_workspace,
            project_workspace_fields,
        ),
        Case(
            "updateProjectWorkspace",
            doc(
                "($id: ID!, $input: ProjectWorkspaceInput!)",
                "updateProjectWorkspace(id: $id, input: $input)",
                f"... on ProjectWorkspace {{ {PROJECT_WORKSPACE} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "id": w.id_of("spare_project_workspace", "project_workspace"),
                    "input": project_workspace_input(w),
                }
            ),
            read_project_workspace,
            project_workspace_fields,
        ),
        Case(
            "createAgent",
            doc(
                "($input: CreateAgentInput!)",
                "createAgent(input: $input)",
                "... on CreateAgentSuccess { agent { id name } }",
            ),
            lambda w: st.fixed_dictionaries(
                {"input": st.fixed_dictionaries({"name": name_text()})}
            ),
            "query { agents { id name } }",
            {"name": stripped},
        ),
        Case(
            "revokeAgent",
            doc(
                "($agentId: ID!)",
                "revokeAgent(agentId: $agentId)",
                "... on Agent { id name revokedAt }",
            ),
            lambda w: st.fixed_dictionaries(
                {"agentId": w.id_of("spare_agent").filter(lambda value: value != w.ids["agent"])}
            ),
        ),
        Case(
            "createIssue",
            doc(
                "($input: CreateIssueInput!)",
                "createIssue(input: $input)",
                f"... on Issue {{ {ISSUE} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "input": issue_input(w).flatmap(
                        lambda fields: w.id_of("project").map(lambda p: {**fields, "projectId": p})
                    )
                }
            ),
            read_issue,
            {"title": stripped, "description": same},
        ),
        Case(
            "updateIssue",
            doc(
                "($id: ID!, $input: IssueInput!)",
                "updateIssue(id: $id, input: $input)",
                f"... on Issue {{ {ISSUE} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {"id": w.id_of("other_issue", "issue"), "input": issue_input(w)}
            ),
            read_issue,
            {"title": stripped, "description": same},
        ),
        Case(
            "checkoutIssue",
            doc(
                "($issueId: ID!)",
                "checkoutIssue(issueId: $issueId)",
                "... on CheckoutIssueSuccess { run { id } workspace { id } }",
            ),
            lambda w: st.fixed_dictionaries({"issueId": w.id_of("issue", "other_issue")}),
        ),
        Case(
            "finishRun",
            doc(
                "($runId: ID!, $status: RunStatus!)",
                "finishRun(runId: $runId, status: $status)",
                "... on Run { id status }",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "runId": w.id_of("run"),
                    "status": enum("RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"),
                }
            ),
        ),
        Case(
            "saveExecutionWorkspace",
            doc(
                "($id: ID!, $input: SaveExecutionWorkspaceInput!)",
                "saveExecutionWorkspace(id: $id, input: $input)",
                f"... on ExecutionWorkspace {{ {WORKSPACE} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {"id": w.id_of("workspace"), "input": workspace_input(w)}
            ),
            read_workspace,
            workspace_fields,
        ),
        Case(
            "resetExecutionWorkspaceRuntime",
            doc(
                "($id: ID!)",
                "resetExecutionWorkspaceRuntime(id: $id)",
                "... on ExecutionWorkspace { id runtimeOverride }",
            ),
            lambda w: st.fixed_dictionaries({"id": w.id_of("workspace")}),
        ),
        Case(
            "startWorkspaceService",
            doc(
                "($workspaceId: ID!, $name: String, $wait: Boolean!)",
                "startWorkspaceService(workspaceId: $workspaceId, name: $name, wait: $wait)",
                "... on WorkspaceServicesSuccess { services { name status } }",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "workspaceId": w.id_of("workspace"),
                    "name": st.one_of(command_name(w), st.none()),
                    "wait": st.just(True),
                }
            ),
        ),
        Case(
            "restartWorkspaceService",
            doc(
                "($workspaceId: ID!, $name: String, $wait: Boolean!)",
                "restartWorkspaceService(workspaceId: $workspaceId, name: $name, wait: $wait)",
                "... on WorkspaceServicesSuccess { services { name status } }",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "workspaceId": w.id_of("workspace"),
                    "name": st.one_of(command_name(w), st.none()),
                    "wait": st.just(True),
                }
            ),
        ),
        Case(
            "stopWorkspaceService",
            doc(
                "($workspaceId: ID!, $name: String)",
                "stopWorkspaceService(workspaceId: $workspaceId, name: $name)",
                "... on WorkspaceServicesSuccess { services { name status } }",
            ),
            lambda w: st.fixed_dictionaries(
                {"workspaceId": w.id_of("workspace"), "name": st.one_of(command_name(w), st.none())}
            ),
        ),
        Case(
            "runWorkspaceJob",
            doc(
                "($workspaceId: ID!, $name: String!, $wait: Boolean!)",
                "runWorkspaceJob(workspaceId: $workspaceId, name: $name, wait: $wait)",
                "... on RunWorkspaceJobSuccess { operation { id status exitCode } }",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "workspaceId": w.id_of("workspace"),
                    "name": command_name(w),
                    "wait": st.just(True),
                }
            ),
        ),
        Case(
            "createEnvironment",
            doc(
                "($input: CreateEnvironmentInput!)",
                "createEnvironment(input: $input)",
                f"... on Environment {{ {ENVIRONMENT} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "input": environment_input(w).flatmap(
                        lambda fields: st.fixed_dictionaries(
                            {}, optional={"kind": enum("SSH", "LOCAL")}
                        ).map(lambda kind: {**fields, **kind})
                    )
                }
            ),
            read_environment,
            environment_fields,
        ),
        Case(
            "updateEnvironment",
            doc(
                "($id: ID!, $input: EnvironmentInput!)",
                "updateEnvironment(id: $id, input: $input)",
                f"... on Environment {{ {ENVIRONMENT} }}",
            ),
            lambda w: st.fixed_dictionaries(
                {
                    "id": w.id_of("edited_environment", "local_environment"),
                    "input": environment_input(w),
                }
            ),
            read_environment,
            environment_fields,
        ),
        Case(
            "testEnvironment",
            doc("($id: ID!)", "testEnvironment(id: $id)", "... on EnvironmentTest { ok }"),
            # Only the environment on a closed loopback port is ever connected to.
            lambda w: st.fixed_dictionaries(
                {
                    "id": st.one_of(
                        st.sampled_from([w.ids["environment"], w.ids["local_environment"]]),
                        w.id_of("none"),
                    )
                }
            ),
        ),
        Case(
            "deriveExecutionWorkspace",
            doc(
                "($id: ID!)",
                "deriveExecutionWorkspace(id: $id)",
                "... on ExecutionWorkspace { id }",
            ),
            lambda w: st.fixed_dictionaries({"id": w.id_of("workspace")}),
        ),
        Case(
            "closeExecutionWorkspace",
            doc(
                "($id: ID!, $force: Boolean!)",
                "closeExecutionWorkspace(id: $id, force: $force)",
                "... on ExecutionWorkspace { id status }",
            ),
            # The world's own workspace stays open for the other cases: close aims at a
            # spare one, a closed one, and ids that name no workspace.
            lambda w: st.fixed_dictionaries(
                {"id": w.id_of("spare_workspace"), "force": st.booleans()}
            ),
        ),
    ]


# ---------------------------------------------------------------- the world


def make_repo(path: Path) -> Path:
    """A real repository with two commits on `main`."""
    path.mkdir(parents=True)
    for args in (("init", "--quiet", "--initial-branch=main"),):
        subprocess.run(["git", *args], cwd=path, check=True)
    (path / "README.md").write_text("# bad input\n")
    (path / "sub").mkdir()
    (path / "sub" / "keep").write_text("x\n")
    subprocess.run(["git", "add", "."], cwd=path, check=True)
    subprocess.run(["git", "commit", "--quiet", "-m", "first"], cwd=path, check=True)
    return path


async def build_world(api: Api, repo: Path, outside: Path) -> World:
    world = World(api=api, settings=api.settings, repo=repo, outside=outside)
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text("outside the workspace\n")
    ids = world.ids
    config = {
        "commands": [
            {"name": "hello", "kind": "job", "command": "echo hello"},
            {
                "name": "through-link",
                "kind": "job",
                "cwd": "escape",
                "command": "touch ran-through-link",
            },
            {"name": "idle", "kind": "service", "command": "exec sleep 600"},
        ]
    }
    project = await api.project("BAD")
    ids["project"] = project["id"]
    ids["project_workspace"] = (
        await api.project_workspace(
            project["id"],
            cwd=str(repo),
            baseRef="main",
            provisionCommand="true",
            runtimeConfig=config,
        )
    )["id"]
    other = await api.project("OTHER")
    ids["other_project"] = other["id"]
    ids["spare_project_workspace"] = (
        await api.project_workspace(other["id"], cwd=str(repo), baseRef="main")
    )["id"]
    ids["agent"], world.agent_token = await api.agent("bad-input-agent")
    # revokeAgent aims here: the agent whose token the examples use stays working.
    ids["spare_agent"], _ = await api.agent("spare-agent")
    ids["issue"] = (await api.issue(project["id"], assigneeId=ids["agent"]))["id"]
    ids["other_issue"] = (await api.issue(project["id"], "Unassigned work"))["id"]
    spare_issue = (await api.issue(project["id"], "Spare", assigneeId=ids["agent"]))["id"]

    checkout = await api.checkout(ids["issue"], world.agent_token)
    assert checkout["__typename"] == "CheckoutIssueSuccess", checkout
    ids["run"] = checkout["run"]["id"]
    ids["workspace"] = checkout["workspace"]["id"]
    world.worktree = Path(checkout["workspace"]["cwd"])
    # A real symlink in the real worktree that leads out of it.
    (world.worktree / "escape").symlink_to(outside, target_is_directory=True)
    spare = await api.checkout(spare_issue, world.agent_token)
    assert spare["__typename"] == "CheckoutIssueSuccess", spare
    ids["spare_workspace"] = spare["workspace"]["id"]

    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    world.private_key = key
    for name, kind in (("probe", "environment"), ("edited", "edited_environment")):
        result = await api.ok(
            "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input)"
            " { __typename ... on Environment { id } ... on Error { message } } }",
            {
                "input": {
                    "name": name,
                    "host": "127.0.0.1",
                    "port": free_port(),
                    "user": "worksite",
                    "privateKey": key,
                    "trustOnFirstUse": True,
                    "rootDir": str(outside.parent / "ssh-root"),
                }
            },
        )
        ids[kind] = result["id"]
    local = await api.gql("query { environments { id kind } }")
    ids["local_environment"] = next(e["id"] for e in local["environments"] if e["kind"] == "LOCAL")
    return world


# ---------------------------------------------------------------- the invariants


class Violation(AssertionError):
    """An example broke one of the invariants."""


@dataclass
class Snapshot:
    rows: dict[str, list[str]]
    files: list[str]
    refs: str
    supervisors: set[tuple[int, int]]
    children: set[int]

    def differences(self, other: Snapshot) -> list[str]:
        found = []
        for model, rows in self.rows.items():
            if rows != other.rows[model]:
                gone = sorted(set(rows) - set(other.rows[model]))[:2]
                new = sorted(set(other.rows[model]) - set(rows))[:2]
                found.append(f"{model} rows changed: -{gone} +{new}")
        if self.files != other.files:
            gone = sorted(set(self.files) - set(other.files))[:5]
            new = sorted(set(other.files) - set(self.files))[:5]
            found.append(f"files changed: -{gone} +{new}")
        if self.refs != other.refs:
            found.append(f"git refs changed:\n{self.refs}\n->\n{other.refs}")
        return found

    def new_processes(self, other: Snapshot) -> list[str]:
        found = []
        if other.supervisors - self.supervisors:
            found.append(f"new supervisors {sorted(other.supervisors - self.supervisors)}")
        if other.children - self.children:
            found.append(f"new child processes {sorted(other.children - self.children)}")
        return found


def _row(model: str, row: dict[str, Any]) -> str:
    ignored = VOLATILE | VOLATILE_BY_MODEL.get(model, set())
    return repr(sorted((k, str(v)) for k, v in row.items() if k not in ignored))


def _files(roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            found.extend(os.path.join(directory, name) for name in dirnames + filenames)
    return sorted(found)


def _children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            found.add(int(entry))
    return found


async def snapshot(world: World) -> Snapshot:
    rows = {}
    for model in MODELS:
        values = await model.all().values()
        rows[model.__name__] = sorted(_row(model.__name__, row) for row in values)
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
        cwd=world.repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Snapshot(
        rows=rows,
        files=_files([world.settings.sandbox_dir, world.outside, world.repo]),
        refs=refs,
        supervisors={
            (s.supervisor_pid, s.supervisor_start_ticks)
            for s in live_supervisors(world.settings.logs_dir)
        },
        children=_children(),
    )


async def post(world: World, query: str, variables: dict[str, Any], token: str) -> httpx2.Response:
    # json.dumps escapes lone surrogates as \uD800, which JSON allows and httpx would not.
    return await world.api.client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def outcome_of(case: Case, response: httpx2.Response) -> tuple[str, Any]:
    """("success" | "<ErrorType>" | "schema refused" | "request refused", the result).

    A request refused before GraphQL (invalid Unicode, a limit) is HTTP 400 or 413 with a
    GraphQL-shaped error; anything else that is not a typed answer is a Violation.
    """
    if response.status_code in (400, 413) and "json" in response.headers.get("content-type", ""):
        messages = [error["message"] for error in response.json()["errors"]]
        return "request refused", messages
    if response.status_code != 200:
        raise Violation(f"HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    errors = body.get("errors")
    if errors:
        messages = [error.get("message", "") for error in errors]
        internal = [m for m in messages if "nternal" in m or "nexpected" in m]
        executed = [error for error in errors if error.get("path")]
        if internal or executed or body.get("data"):
            raise Violation(f"GraphQL error instead of a typed answer: {errors}")
        return "schema refused", messages
    result = body["data"][case.name]
    typename = result["__typename"]
    if typename in ERROR_TYPES:
        if not result.get("message"):
            raise Violation(f"{typename} without a message: {result}")
        return typename, result
    return "success", result


async def check_example(world: World, case: Case, variables: dict[str, Any], token: str) -> str:
    before = await snapshot(world)
    response = await post(world, case.document, variables, token)
    outcome, result = outcome_of(case, response)
    after = await snapshot(world)

    if outcome != "success":
        problems = before.differences(after) + before.new_processes(after)
        if problems:
            raise Violation(f"{outcome} but the state changed: {problems}; {result}")
        return outcome
    if case.name not in RUNS_THINGS and before.new_processes(after):
        raise Violation(f"{case.name} started processes: {before.new_processes(after)}")
    if any(str(world.outside) in f for f in after.files if "ran-through-link" in f):
        raise Violation("a command ran in the directory a symlink leads to")
    await check_round_trip(world, case, variables, result)
    return outcome


async def check_round_trip(
    world: World, case: Case, variables: dict[str, Any], result: dict[str, Any]
) -> None:
    if not case.read_back:
        return
    sent = variables.get("input", {})
    answered = result.get("agent", result)
    stored = await _read(world, case, answered["id"])
    for name, expected in case.compared.items():
        if (
            name not in sent
            or sent[name] is None
            and name not in ("runtimeConfig", "runtimeOverride")
        ):
            continue
        if name in KEPT_WHEN_EMPTY and sent[name] == "":
            continue
        want = expected(sent[name])
        if answered.get(name, want) != want or stored.get(name, want) != want:
            raise Violation(
                f"{name}: sent {sent[name]!r:.200}, answered {answered.get(name)!r:.200}, "
                f"stored {stored.get(name)!r:.200}"
            )
    _check_identifiers(answered)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_identifiers(answered: dict[str, Any]) -> None:
    """Names that reach git, ssh and the file system hold no control characters."""
    for name in ("key", "branchName", "baseRef", "host", "user"):
        value = answered.get(name)
        if isinstance(value, str) and _CONTROL.search(value):
            raise Violation(f"{name} accepted with a control character: {value!r}")
    for name in ("branchName", "baseRef"):
        value = answered.get(name)
        if value and name == "branchName":
            check = subprocess.run(
                ["git", "check-ref-format", "--branch", value], capture_output=True
            )
            if check.returncode != 0:
                raise Violation(f"{name} {value!r} accepted but git refuses it as a branch")
    config = answered.get("runtimeConfig") or answered.get("runtimeOverride")
    for command in (config or {}).get("commands", []):
        for text in (command["name"], *command.get("env", {})):
            if _CONTROL.search(text):
                raise Violation(f"runtime config accepted a control character: {text!r}")


async def _read(world: World, case: Case, object_id: str) -> dict[str, Any]:
    assert case.read_back is not None
    data = await world.api.gql(case.read_back, {"id": object_id} if "$id" in case.read_back else {})
    if "node" in data:
        return data["node"]  # type: ignore[no-any-return]
    if "agents" in data:
        return next(a for a in data["agents"] if a["id"] == object_id)
    workspaces = [w for p in data["projects"] for w in p["workspaces"]]
    return next(w for w in workspaces if w["id"] == object_id)


# ---------------------------------------------------------------- running it


class WorldRunner:
    """The app and its world on an event loop in a thread of their own.

    Hypothesis calls synchronous functions; each example is handed to this loop and
    waited for. Leaving the context shuts the app down and stops the loop.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.world: World | None = None
        self._stack = contextlib.AsyncExitStack()

    def call(self, coroutine: Any, timeout: float = EXAMPLE_TIMEOUT) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    @contextlib.contextmanager
    def running(self, settings: Settings, token: str, repo: Path, outside: Path) -> Iterator[World]:
        self.thread.start()
        try:
            self.world = self.call(self._start(settings, token, repo, outside))
            yield self.world
        finally:
            with contextlib.suppress(Exception):
                self.call(self._stack.aclose())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            self.loop.close()

    async def _start(self, settings: Settings, token: str, repo: Path, outside: Path) -> World:
        api = await self._stack.enter_async_context(_serve(settings, token))
        return await build_world(api, repo, outside)


@contextlib.asynccontextmanager
async def _serve(settings: Settings, token: str) -> AsyncIterator[Api]:
    app = create_app(settings, migrate=False)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://test", timeout=EXAMPLE_TIMEOUT
        ) as client:
            yield Api(client, settings, token)


def run_case(
    runner: WorldRunner, case: Case, examples: int, random_seed: int | None = None
) -> Counter[str]:
    """Run one mutation's property for `examples` examples; outcomes counted by kind.

    Without a seed the examples are derandomized: the same ones on every run.
    """
    world = runner.world
    assert world is not None
    counts: Counter[str] = Counter()
    tokens = st.sampled_from(
        ["operator", "operator", "agent"] if case.agent_may_try else ["operator"]
    )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=random_seed is None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(variables=case.variables(world), who=tokens)
    def prop(variables: dict[str, Any], who: str) -> None:
        token = world.agent_token if who == "agent" else world.api.operator_token
        counts[runner.call(check_example(world, case, variables, token))] += 1

    if random_seed is not None:
        prop = seed(random_seed)(prop)
    prop()
    return counts
