"""Jobs: one-shot commands whose runs are operations with an exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.services import (
    OPERATION_LOG,
    run_job,
    runtime_workspace,
    until_operation,
    wait_for_file,
)

FAILING = {
    "name": "check",
    "kind": "job",
    "command": "echo checking; echo 'boom: 3 tests failed' >&2; exit 3",
}


async def test_job_that_fails_with_exit_3_records_its_code_and_stderr(
    api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(api, git_repo, [FAILING])

    result = await run_job(api, workspace, "check", wait=True)

    assert result["__typename"] == "RunWorkspaceJobSuccess", result
    operation = result["operation"]
    assert (operation["category"], operation["phase"]) == ("RUNTIME", "job")
    assert operation["command"] == FAILING["command"]
    assert operation["serviceName"] == "check"
    assert (operation["status"], operation["exitCode"]) == ("FAILED", 3)
    assert operation["stdoutExcerpt"] == "checking"
    assert operation["stderrExcerpt"] == "boom: 3 tests failed"
    assert operation["finishedAt"] >= operation["startedAt"]
    log = await api.gql(OPERATION_LOG, {"id": operation["id"], "offset": 0, "limit": 9})
    chunk = log["operation"]["log"]
    assert chunk == {"content": "checking\n", "nextOffset": 9, "complete": False}
    rest = await api.gql(OPERATION_LOG, {"id": operation["id"], "offset": 9, "limit": 1000})
    assert rest["operation"]["log"]["content"] == "boom: 3 tests failed\n"
    assert rest["operation"]["log"]["complete"]


async def test_job_without_wait_returns_at_once_and_its_end_is_recorded(
    api: Api, git_repo: Path
) -> None:
    slow = {"name": "slow", "kind": "job", "command": f"{wait_for_file('go')}; exit 0"}
    workspace = await runtime_workspace(api, git_repo, [slow])

    result = await run_job(api, workspace, "slow")

    operation = result["operation"]
    assert operation["status"] == "RUNNING" and operation["exitCode"] is None
    (workspace.cwd / "go").touch()
    ended = await until_operation(api, operation["id"], lambda op: op["status"] != "RUNNING")
    assert (ended["status"], ended["exitCode"]) == ("SUCCEEDED", 0)


async def test_job_gets_its_env_a_port_and_the_workspace_variables_but_no_secrets(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSITE_TOKEN", "server-secret-token")
    monkeypatch.setenv("WORKSITE_DATABASE_URL", "sqlite:///secret.sqlite3")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-key")
    printenv = {
        "name": "printenv",
        "kind": "job",
        "command": "env | sort",
        "port": "auto",
        "env": {"GREETING": "hello, world", "PORT": "1", "WORKSITE_ISSUE": "forged"},
    }
    workspace = await runtime_workspace(api, git_repo, [printenv])

    result = await run_job(api, workspace, "printenv", wait=True)

    lines = result["operation"]["stdoutExcerpt"].splitlines()
    env = dict(line.split("=", 1) for line in lines)
    assert env["GREETING"] == "hello, world"
    assert int(env["PORT"]) in api.settings.service_ports  # leased, not the config's
    assert env["WORKSITE_ISSUE"] == "PAP-1"
    assert env["WORKSITE_WORKSPACE_CWD"] == str(workspace.cwd)
    assert env["WORKSITE_COMMAND"] == "printenv"
    assert not {"WORKSITE_TOKEN", "WORKSITE_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"} & set(env)
