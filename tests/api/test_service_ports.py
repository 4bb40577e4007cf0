"""Ports leased per workspace: never shared, never taken from a foreign process."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.services import (
    checked_out,
    get_json,
    http_service,
    pid_alive,
    project_with,
    start,
    started,
    stop,
    workspace_state,
)

LISTENER = """
import socket, sys, time
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
time.sleep(600)
"""


@pytest.fixture
def foreign_listener() -> Iterator[tuple[int, int]]:
    """A process Worksite knows nothing of, listening on a port: (pid, port)."""
    with subprocess.Popen(
        [sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            yield process.pid, port
        finally:
            process.kill()


async def test_auto_ports_of_two_workspaces_of_one_project_never_collide(
    api: Api, git_repo: Path
) -> None:
    project_id, agent_id, token = await project_with(api, git_repo, [http_service("web")])
    first = await checked_out(api, project_id, agent_id, token, "First issue")
    second = await checked_out(api, project_id, agent_id, token, "Second issue")

    web_one, web_two = await asyncio.gather(started(api, first, "web"), started(api, second, "web"))

    assert web_one["status"] == web_two["status"] == "RUNNING"
    assert web_one["port"] != web_two["port"]
    for workspace, web in ((first, web_one), (second, web_two)):
        seen = await get_json(f"{web['url']}/env")
        assert seen["env"]["WORKSITE_WORKSPACE_ID"] == workspace.id


async def test_fixed_port_held_by_a_foreign_process_is_refused_and_left_alone(
    api: Api, git_repo: Path, foreign_listener: tuple[int, int]
) -> None:
    pid, port = foreign_listener
    fixed = {"name": "web", "kind": "service", "command": "sleep 600", "port": port}
    project_id, agent_id, token = await project_with(api, git_repo, [fixed])
    workspace = await checked_out(api, project_id, agent_id, token)

    result = await start(api, workspace, "web")

    assert result["__typename"] == "ConflictError", result
    assert f"Port {port} is in use by python" in result["message"]
    assert f"(pid {pid})" in result["message"] and "nothing was stopped" in result["message"]
    assert pid_alive(pid)
    state = await workspace_state(api, workspace)
    (web,) = state["services"]
    assert web["status"] == "FAILED" and f"Port {port}" in web["failureReason"]
    assert web["pid"] is None and web["startOperation"] is None


async def test_fixed_port_moves_to_another_workspace_only_once_its_holder_stopped(
    api: Api, git_repo: Path
) -> None:
    port = free_port()
    fixed = {"name": "web", "kind": "service", "command": "sleep 600", "port": port}
    project_id, agent_id, token = await project_with(api, git_repo, [fixed])
    first = await checked_out(api, project_id, agent_id, token, "First issue")
    second = await checked_out(api, project_id, agent_id, token, "Second issue")
    await started(api, first, "web")

    refused = await start(api, second, "web")
    assert refused["__typename"] == "ConflictError", refused
    assert refused["message"].startswith(
        f"Port {port} is leased to web of workspace PAP-1-first-issue, which is running"
    )

    await stop(api, first, "web")
    moved = await started(api, second, "web")
    assert moved["port"] == port and moved["status"] == "RUNNING"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
