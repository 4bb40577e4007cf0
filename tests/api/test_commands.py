"""Who may run a workspace's commands, where they run, and what they are given."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.services import (
    run_job,
    runtime_workspace,
    start,
    stop,
    workspace_state,
)
from worksite.models import ExecutionWorkspace
from worksite.models.enums import WorkspaceStatus

SLEEPER = {"name": "db", "kind": "service", "command": "sleep 600"}
PWD_JOB = {"name": "where", "kind": "job", "command": "pwd -P"}

SAVE_CWD = """
mutation($id: ID!, $cwd: String) { saveExecutionWorkspace(id: $id, input: {cwd: $cwd}) {
  __typename ... on Error { message } } }
"""


async def test_agent_drives_services_only_in_workspaces_of_its_own_issues(
    api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(api, git_repo, [SLEEPER, PWD_JOB])
    _, stranger = await api.agent("stranger")

    mine = await start(api, workspace, "db", token=workspace.token)
    theirs = await stop(api, workspace, "db", token=stranger)
    job = await run_job(api, workspace, "where", token=stranger)

    assert mine["__typename"] == "WorkspaceServicesSuccess", mine
    assert theirs["__typename"] == job["__typename"] == "ForbiddenError"
    assert "is not linked to an issue of agent stranger" in theirs["message"]
    own_stop = await stop(api, workspace, "db", token=workspace.token)
    assert own_stop["__typename"] == "WorkspaceServicesSuccess", own_stop


@pytest.mark.parametrize("status", [WorkspaceStatus.ARCHIVED, WorkspaceStatus.CLOSING])
async def test_closed_workspace_refuses_to_start_services_and_jobs(
    api: Api, git_repo: Path, status: WorkspaceStatus
) -> None:
    workspace = await runtime_workspace(api, git_repo, [SLEEPER, PWD_JOB])
    await ExecutionWorkspace.filter(id=workspace.id).update(status=status)

    service = await start(api, workspace, "db")
    job = await run_job(api, workspace, "where")

    for result, action in ((service, "start services"), (job, "run jobs")):
        assert result["__typename"] == "ConflictError", result
        assert result["message"] == (
            f"Workspace PAP-1-fix-the-login-form is {status.value}; cannot {action}."
        )


async def test_workspace_without_a_directory_refuses_to_run_commands(
    api: Api, git_repo: Path
) -> None:
    workspace = await runtime_workspace(api, git_repo, [SLEEPER])
    await api.ok(SAVE_CWD, {"id": workspace.id, "cwd": ""})

    result = await start(api, workspace, "db")

    assert result["__typename"] == "ConflictError"
    assert "has no working directory" in result["message"]


async def test_unknown_names_and_wrong_kinds_are_told_apart(api: Api, git_repo: Path) -> None:
    workspace = await runtime_workspace(api, git_repo, [SLEEPER, PWD_JOB])

    unknown = await start(api, workspace, "nope")
    job_as_service = await start(api, workspace, "where")
    service_as_job = await run_job(api, workspace, "db")

    assert unknown["__typename"] == "NotFoundError"
    assert unknown["message"] == (
        "No service named 'nope' in the runtime config of PAP-1-fix-the-login-form."
    )
    assert job_as_service["__typename"] == "InvalidInputError"
    assert job_as_service["field"] == "name"
    assert job_as_service["message"] == "name: expected a service, but 'where' is a job"
    assert service_as_job["__typename"] == "InvalidInputError"


async def test_command_runs_in_its_cwd_inside_the_workspace(api: Api, git_repo: Path) -> None:
    workspace = await runtime_workspace(api, git_repo, [{**PWD_JOB, "cwd": "sub/dir"}])
    (workspace.cwd / "sub" / "dir").mkdir(parents=True)

    result = await run_job(api, workspace, "where", wait=True)

    operation = result["operation"]
    assert operation["status"] == "SUCCEEDED", operation
    assert operation["stdoutExcerpt"] == str((workspace.cwd / "sub" / "dir").resolve())


async def test_cwd_that_is_a_symlink_pointing_outside_is_refused(
    api: Api, git_repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    commands = [{**SLEEPER, "cwd": "escape"}, {**PWD_JOB, "cwd": "escape/."}]
    workspace = await runtime_workspace(api, git_repo, commands)
    (workspace.cwd / "escape").symlink_to(outside)

    service = await start(api, workspace, "db")
    job = await run_job(api, workspace, "where")

    for result in (service, job):
        assert result["__typename"] == "ConflictError", result
        assert f"resolves to {outside}, outside the workspace" in result["message"]
    state = await workspace_state(api, workspace)
    assert state["services"] == []
    assert [op["phase"] for op in state["operations"]] == ["worktree_create"]
