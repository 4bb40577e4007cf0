"""A server killed in the middle of a close leaves a workspace that retry close finishes."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx2
import pytest

from tests.api.test_close import CLOSE, READINESS
from tests.conftest import git
from tests.support.api import (
    CHECKOUT,
    CREATE_AGENT,
    CREATE_ISSUE,
    CREATE_PROJECT,
    CREATE_PROJECT_WORKSPACE,
)
from tests.support.server import ServerProcess

TOKEN = "crash-test-operator"


class Client:
    def __init__(self, server: ServerProcess) -> None:
        self.url = f"{server.url}/graphql"

    def call(
        self, query: str, variables: dict | None = None, token: str = TOKEN, timeout: float = 60
    ) -> dict:
        answer = httpx2.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
        body = answer.json()
        assert not body.get("errors"), body
        (result,) = body["data"].values()
        return result


def test_sigkill_during_close_then_retry_archives_and_keeps_the_work(
    tmp_path: Path, git_repo: Path, database_url: str
) -> None:
    release = tmp_path / "release-cleanup"
    started = tmp_path / "cleanup-started"
    server = ServerProcess(tmp_path / "data", database_url, TOKEN)
    server.start()
    try:
        api = Client(server)
        project = api.call(CREATE_PROJECT, {"input": {"key": "PAP", "name": "p"}})
        api.call(
            CREATE_PROJECT_WORKSPACE,
            {
                "input": {
                    "projectId": project["id"],
                    "name": "main",
                    "cwd": str(git_repo),
                    "baseRef": "main",
                    "cleanupCommand": f"touch {started}; while [ ! -f {release} ]; do sleep 0.1; done",
                }
            },
        )
        agent = api.call(CREATE_AGENT, {"input": {"name": "coder"}})
        issue = api.call(
            CREATE_ISSUE,
            {
                "input": {
                    "projectId": project["id"],
                    "title": "t",
                    "assigneeId": agent["agent"]["id"],
                    "status": "DONE",
                }
            },
        )
        workspace = api.call(CHECKOUT, {"issueId": issue["id"]}, agent["token"])["workspace"]
        (Path(workspace["cwd"]) / "precious.txt").write_text("do not lose me\n")

        with pytest.raises(httpx2.TransportError):
            # The close blocks in the cleanup command; kill the server under it.
            def kill_when_cleanup_runs() -> None:
                deadline = time.monotonic() + 60
                while not started.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                server.stop(signal.SIGKILL)

            import threading

            killer = threading.Thread(target=kill_when_cleanup_runs)
            killer.start()
            try:
                api.call(CLOSE, {"id": workspace["id"], "force": True}, timeout=120)
            finally:
                killer.join()

        server.start()
        after = api.call(READINESS, {"id": workspace["id"]})
        assert after["status"] == "CLEANUP_FAILED"
        assert "interrupted" in after["cleanupReason"]
        assert after["savedWorkRef"] == f"refs/worksite/archive/{workspace['id']}"
        assert Path(workspace["cwd"], "precious.txt").exists(), "nothing removed yet"

        release.write_text("")
        retried = api.call(CLOSE, {"id": workspace["id"]})
        assert retried["status"] == "ARCHIVED", retried
        assert not Path(workspace["cwd"]).exists()
        git(git_repo, "checkout", "-q", after["savedWorkRef"], "--", "precious.txt")
        assert (git_repo / "precious.txt").read_text() == "do not lose me\n"
    finally:
        release.write_text("")
        server.stop()
