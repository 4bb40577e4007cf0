"""Ready-made situations for live-update tests and benchmarks.

`GatedProvision` checks an issue out in a project whose provision command waits
for a gate file before running a script: the test learns the operation's id
from workspaceOperations, subscribes to its log, then opens the gate, so the
output is followed live from its first byte.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.api import Api
from tests.support.gqlws import GraphQLWebSocket

WORKSPACE_CHANGED = """
subscription($projectId: ID!) { workspaceChanged(projectId: $projectId) {
  __typename ... on ExecutionWorkspace { id name status }
  ... on Error { message } } }
"""
WORKSPACES = """
query($projectId: ID!) { executionWorkspaces(projectId: $projectId) { id } }
"""
WORKSPACE_OPERATIONS = """
subscription($workspaceId: ID!) { workspaceOperations(workspaceId: $workspaceId) {
  __typename ... on WorkspaceOperation { id phase status exitCode }
  ... on Error { message } } }
"""
OPERATION_LOG = """
subscription($operationId: ID!, $offset: Int!) {
  operationLog(operationId: $operationId, offset: $offset) {
    __typename ... on OutputChunk { operationId stream content offset nextOffset }
    ... on Error { message } } }
"""


async def checked_out_issue(api: Api, repo: Path, key: str = "PAP") -> dict[str, Any]:
    """A project with one issue checked out by its agent: ids and the agent's token."""
    project = await api.project(key)
    await api.project_workspace(
        project["id"], cwd=str(repo), baseRef="main", provisionCommand="echo provisioned"
    )
    agent_id, token = await api.agent(f"{key}-agent")
    issue = await api.issue(project["id"], assigneeId=agent_id)
    result = await api.checkout(issue["id"], token)
    assert result["__typename"] == "CheckoutIssueSuccess", result
    return {
        "project": project["id"],
        "issue": issue["id"],
        "token": token,
        "run": result["run"]["id"],
        "workspace": result["workspace"]["id"],
        "operation": result["workspace"]["operations"][0]["id"],
    }


def numbered_lines_script(count: int, stream: str = "stdout") -> str:
    """Python that prints `count` numbered lines ("line 000000") to one stream."""
    return (
        f"import sys\n"
        f"out = sys.{stream}\n"
        f"for i in range({count}):\n"
        f"    out.write(f'line {{i:06d}}\\n')\n"
    )


def numbered_lines(count: int) -> str:
    return "".join(f"line {i:06d}\n" for i in range(count))


class GatedProvision:
    def __init__(self, api: Api, repo: Path, work_dir: Path, script: str, key: str = "LIV"):
        self.api = api
        self.repo = repo
        self.key = key
        self.gate = work_dir / f"{key}-gate"
        self.script = work_dir / f"{key}-script.py"
        self.script.write_text(script)
        self.checkout: asyncio.Task[dict[str, Any]] | None = None
        self.project_id = ""
        self.workspace_id = ""
        self.agent_token = ""

    @property
    def command(self) -> str:
        gate, script = shlex.quote(str(self.gate)), shlex.quote(str(self.script))
        python = shlex.quote(sys.executable)
        return f"while [ ! -e {gate} ]; do sleep 0.02; done; exec {python} {script}"

    async def start(self, client: GraphQLWebSocket) -> str:
        """Check the issue out and return the id of its (still waiting) provision operation."""
        project = await self.api.project(self.key)
        self.project_id = project["id"]
        await self.api.project_workspace(
            project["id"], cwd=str(self.repo), baseRef="main", provisionCommand=self.command
        )
        agent_id, self.agent_token = await self.api.agent(f"{self.key}-agent")
        issue = await self.api.issue(project["id"], "Stream a log", assigneeId=agent_id)
        self.checkout = asyncio.create_task(self.api.checkout(issue["id"], self.agent_token))

        # The provision command waits at the gate, so its operation starts and stays
        # running; workspaceOperations gives running ones first, then those starting.
        self.workspace_id = await self._new_workspace()
        operations = await client.subscribe(
            WORKSPACE_OPERATIONS, {"workspaceId": self.workspace_id}
        )
        while True:
            operation = await client.next_value(operations)
            if operation["phase"] == "provision":
                await client.complete(operations)
                return str(operation["id"])

    async def _new_workspace(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.checkout is not None
            if self.checkout.done():
                raise AssertionError(f"checkout ended early: {self.checkout.result()}")
            data = await self.api.gql(WORKSPACES, {"projectId": self.project_id})
            if data["executionWorkspaces"]:
                return str(data["executionWorkspaces"][0]["id"])
            await asyncio.sleep(0.05)
        raise AssertionError(f"no workspace for project {self.key} after {timeout} s")

    def open_gate(self) -> None:
        self.gate.touch()

    async def finished(self) -> dict[str, Any]:
        """The checkout's result, once the provision command has ended."""
        assert self.checkout is not None
        self.open_gate()
        return await self.checkout
