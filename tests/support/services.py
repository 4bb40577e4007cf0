"""Helpers for tests of services and jobs: workspaces with a runtime config, the
mutations' documents, and polling with a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.api import Api

PROGRAMS = Path(__file__).with_name("programs")
PYTHON = shlex.quote(sys.executable)
HTTP_SERVICE = f"{PYTHON} {shlex.quote(str(PROGRAMS / 'http_service.py'))}"
SETSID_SERVICE = f"{PYTHON} {shlex.quote(str(PROGRAMS / 'setsid_grandchild.py'))}"
DEADLINE = 30.0


def wait_for_file(name: str) -> str:
    """A shell loop that waits until `name` exists (relative to the command's cwd)."""
    return f"while [ ! -e {shlex.quote(name)} ]; do sleep 0.05; done"


def http_service(name: str = "web", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "service",
        "command": HTTP_SERVICE,
        "port": "auto",
        "readiness": {"http": "http://127.0.0.1:${PORT}/health", "timeoutSeconds": 30},
        **extra,
    }


@dataclass
class Workspace:
    id: str
    cwd: Path
    token: str  # of the agent whose issue uses it
    project_id: str


async def project_with(
    api: Api, repo: Path, commands: list[dict[str, Any]], **fields: Any
) -> tuple[str, str, str]:
    """A project whose primary workspace has these commands; (project id, agent id, token)."""
    project = await api.project()
    await api.project_workspace(
        project["id"],
        cwd=str(repo),
        baseRef="main",
        runtimeConfig={"commands": commands},
        **fields,
    )
    agent_id, token = await api.agent()
    return project["id"], agent_id, token


async def checked_out(
    api: Api, project_id: str, agent_id: str, token: str, title: str = "Fix the login form"
) -> Workspace:
    issue = await api.issue(project_id, title, assigneeId=agent_id)
    result = await api.checkout(issue["id"], token)
    assert result["__typename"] == "CheckoutIssueSuccess", result
    workspace = result["workspace"]
    return Workspace(workspace["id"], Path(workspace["cwd"]), token, project_id)


async def runtime_workspace(api: Api, repo: Path, commands: list[dict[str, Any]]) -> Workspace:
    """An isolated workspace (a real worktree) of issue PAP-1 with these commands."""
    project_id, agent_id, token = await project_with(api, repo, commands)
    return await checked_out(api, project_id, agent_id, token)


SERVICE = """
  id name status health pid port url command cwd startedAt readyAt stoppedAt exitCode
  failureReason
  startOperation { id phase status exitCode command stdoutExcerpt stderrExcerpt }
"""
ERRORS = (
    "... on Error { message } ... on ConflictError { reasons } ... on InvalidInputError { field }"
)
START = f"""
mutation($id: ID!, $name: String, $wait: Boolean! = false) {{
  startWorkspaceService(workspaceId: $id, name: $name, wait: $wait) {{
    __typename ... on WorkspaceServicesSuccess {{ services {{ {SERVICE} }} }} {ERRORS} }} }}
"""
STOP = f"""
mutation($id: ID!, $name: String) {{
  stopWorkspaceService(workspaceId: $id, name: $name) {{
    __typename ... on WorkspaceServicesSuccess {{ services {{ {SERVICE} }} }} {ERRORS} }} }}
"""
RESTART = f"""
mutation($id: ID!, $name: String, $wait: Boolean! = false) {{
  restartWorkspaceService(workspaceId: $id, name: $name, wait: $wait) {{
    __typename ... on WorkspaceServicesSuccess {{ services {{ {SERVICE} }} }} {ERRORS} }} }}
"""
OPERATION = """
  id category phase command status exitCode startedAt finishedAt stdoutExcerpt
  stderrExcerpt serviceName
"""
RUN_JOB = f"""
mutation($id: ID!, $name: String!, $wait: Boolean! = false) {{
  runWorkspaceJob(workspaceId: $id, name: $name, wait: $wait) {{
    __typename ... on RunWorkspaceJobSuccess {{ operation {{ {OPERATION} }} }} {ERRORS} }} }}
"""
SERVICES = f"""
query($id: ID!) {{ executionWorkspace(id: $id) {{
  services {{ {SERVICE} }}
  commands {{ name kind service {{ name status }} }}
  operations {{ {OPERATION} }} }} }}
"""
OPERATION_LOG = """
query($id: ID!, $offset: Int!, $limit: Int!) { operation(id: $id) {
  status exitCode log(offset: $offset, limit: $limit) { content nextOffset complete } } }
"""
GET_OPERATION = f"query($id: ID!) {{ operation(id: $id) {{ {OPERATION} }} }}"


async def start(
    api: Api,
    workspace: Workspace,
    name: str | None = None,
    *,
    wait: bool = False,
    token: str | None = None,
) -> dict[str, Any]:
    return await api.mutate(START, {"id": workspace.id, "name": name, "wait": wait}, token)


async def started(
    api: Api, workspace: Workspace, name: str, *, wait: bool = True
) -> dict[str, Any]:
    """Start one service and return it; any error fails the test."""
    result = await start(api, workspace, name, wait=wait)
    assert result["__typename"] == "WorkspaceServicesSuccess", result
    (service,) = result["services"]
    return service  # type: ignore[no-any-return]


async def stop(
    api: Api, workspace: Workspace, name: str | None = None, token: str | None = None
) -> dict[str, Any]:
    return await api.mutate(STOP, {"id": workspace.id, "name": name}, token)


async def run_job(
    api: Api, workspace: Workspace, name: str, *, wait: bool = False, token: str | None = None
) -> dict[str, Any]:
    return await api.mutate(RUN_JOB, {"id": workspace.id, "name": name, "wait": wait}, token)


async def workspace_state(api: Api, workspace: Workspace) -> dict[str, Any]:
    data = await api.gql(SERVICES, {"id": workspace.id})
    return data["executionWorkspace"]  # type: ignore[no-any-return]


async def service(api: Api, workspace: Workspace, name: str) -> dict[str, Any]:
    services = (await workspace_state(api, workspace))["services"]
    matches = [s for s in services if s["name"] == name]
    assert matches, f"no service {name} in {services}"
    return matches[0]  # type: ignore[no-any-return]


async def until_service(
    api: Api, workspace: Workspace, name: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll the service until done(service) holds; fail with what was seen last."""
    deadline = time.monotonic() + DEADLINE
    while not done(current := await service(api, workspace, name)):
        assert time.monotonic() < deadline, f"service {name} is still {current}"
        await asyncio.sleep(0.05)
    return current


async def until_operation(
    api: Api, operation_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE
    while not done(current := (await api.gql(GET_OPERATION, {"id": operation_id}))["operation"]):
        assert time.monotonic() < deadline, f"operation is still {current}"
        await asyncio.sleep(0.05)
    return current


async def until_log_contains(api: Api, operation_id: str, text: str) -> str:
    """Poll an operation's log until it holds text; return the log."""
    deadline = time.monotonic() + DEADLINE
    while True:
        data = await api.gql(OPERATION_LOG, {"id": operation_id, "offset": 0, "limit": 1 << 20})
        content: str = data["operation"]["log"]["content"]
        if text in content:
            return content
        assert time.monotonic() < deadline, f"{text!r} is not in {content!r}"
        await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.05)


async def get_json(url: str) -> Any:
    def fetch() -> Any:
        # Straight to loopback, whatever proxy the environment names.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=10) as response:
            return json.load(response)

    return await asyncio.to_thread(fetch)


def pid_alive(pid: int) -> bool:
    """Whether pid is a live process (not a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZXx"
