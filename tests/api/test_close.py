"""Close: readiness, refusal without force, saved work, retry, primary checkouts."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from tests.api.test_checkout import setup
from tests.conftest import git
from tests.support.api import Api

READINESS = """
query($id: ID!) { executionWorkspace(id: $id) { status savedWorkRef cleanupReason drift
  closeReadiness { state reasons warnings steps modifiedFiles untrackedFiles commitsAhead commitsBehind } } }
"""
CLOSE = """
mutation($id: ID!, $force: Boolean) { closeExecutionWorkspace(id: $id, force: $force) {
  __typename ... on ExecutionWorkspace { id status closedAt cleanupReason savedWorkRef
    operations { phase status exitCode stderrExcerpt } }
  ... on ConflictError { message reasons } ... on Error { message } } }
"""
DONE = "mutation($id: ID!) { updateIssue(id: $id, input: {status: DONE}) { __typename } }"


async def checked_out(api: Api, repo: Path, **project_workspace: object) -> tuple[dict, dict, str]:
    project, agent_id, token = await setup(api, repo, **project_workspace)
    issue = await api.issue(project["id"], assigneeId=agent_id)
    workspace = (await api.checkout(issue["id"], token))["workspace"]
    return issue, workspace, token


async def readiness(api: Api, workspace_id: str) -> dict:
    return (await api.gql(READINESS, {"id": workspace_id}))["executionWorkspace"]


async def test_clean_finished_workspace_closes_and_removes_its_worktree(
    api: Api, git_repo: Path
) -> None:
    issue, workspace, _ = await checked_out(
        api, git_repo, cleanupCommand="echo cleaning", teardownCommand="echo tearing down"
    )
    await api.ok(DONE, {"id": issue["id"]})
    before = await readiness(api, workspace["id"])
    assert before["closeReadiness"]["state"] == "READY"
    assert before["closeReadiness"]["steps"] == [
        "cleanup command",
        "teardown command",
        "remove worktree",
        "delete branch",
    ]

    closed = await api.ok(CLOSE, {"id": workspace["id"]})

    assert closed["status"] == "ARCHIVED" and closed["closedAt"]
    phases = [op["phase"] for op in reversed(closed["operations"])]
    assert phases[-4:] == ["cleanup", "teardown", "remove_worktree", "delete_branch"]
    assert not Path(workspace["cwd"]).exists()
    assert workspace["branchName"] not in git(git_repo, "branch", "--list")
    assert closed["savedWorkRef"] is None


async def test_open_issue_blocks_an_isolated_workspace(api: Api, git_repo: Path) -> None:
    issue, workspace, _ = await checked_out(api, git_repo)

    refused = await api.mutate(CLOSE, {"id": workspace["id"]})

    assert refused["__typename"] == "ConflictError"
    assert refused["reasons"] == ["Linked issues are still open: PAP-1 (in_progress)."]
    assert Path(workspace["cwd"]).is_dir()
    assert (await readiness(api, workspace["id"]))["status"] == "ACTIVE"


async def test_dirty_worktree_is_refused_then_forced_close_saves_the_work(
    api: Api, git_repo: Path
) -> None:
    issue, workspace, _ = await checked_out(api, git_repo)
    await api.ok(DONE, {"id": issue["id"]})
    cwd = Path(workspace["cwd"])
    (cwd / "app.py").write_text("print('changed')\n")
    (cwd / "notes.txt").write_text("untracked thoughts\n")
    (cwd / "committed.txt").write_text("committed\n")
    git(cwd, "add", "committed.txt")
    git(cwd, "commit", "-q", "-m", "unmerged work")
    (cwd / ".gitignore").write_text("*.log\n")
    (cwd / "build.log").write_text("ignored\n")

    state = (await readiness(api, workspace["id"]))["closeReadiness"]
    assert state["state"] == "BLOCKED"
    assert state["modifiedFiles"] == 1 and state["untrackedFiles"] == 2
    assert state["commitsAhead"] == 1 and state["commitsBehind"] == 0
    refused = await api.mutate(CLOSE, {"id": workspace["id"]})
    assert refused["__typename"] == "ConflictError" and len(refused["reasons"]) == 2

    closed = await api.ok(CLOSE, {"id": workspace["id"], "force": True})

    ref = closed["savedWorkRef"]
    assert closed["status"] == "ARCHIVED" and ref == f"refs/worksite/archive/{workspace['id']}"
    assert not cwd.exists()
    # Plain git brings everything back.
    git(git_repo, "checkout", "-q", ref, "--", "app.py", "notes.txt", "committed.txt")
    assert (git_repo / "app.py").read_text() == "print('changed')\n"
    assert (git_repo / "notes.txt").read_text() == "untracked thoughts\n"
    assert (git_repo / "committed.txt").read_text() == "committed\n"
    assert "build.log" not in git(git_repo, "ls-tree", "-r", "--name-only", ref)
    assert workspace["branchName"] in git(git_repo, "branch", "--list"), "unmerged branch kept"


async def test_failed_cleanup_then_retry_resumes_and_archives(api: Api, git_repo: Path) -> None:
    marker = git_repo.parent / "cleanup-may-pass"
    issue, workspace, _ = await checked_out(
        api,
        git_repo,
        cleanupCommand=f"echo cleanup ran >> {git_repo.parent}/cleanup.count; test -f {marker} || {{ echo 'port 5432 busy' >&2; exit 4; }}",
        teardownCommand=f"echo teardown ran >> {git_repo.parent}/teardown.count",
    )
    await api.ok(DONE, {"id": issue["id"]})

    failed = await api.ok(CLOSE, {"id": workspace["id"]})

    assert failed["status"] == "CLEANUP_FAILED"
    assert failed["cleanupReason"] == "cleanup command failed: exit code 4: port 5432 busy"
    assert (
        failed["operations"][0]["phase"] == "cleanup"
        and failed["operations"][0]["status"] == "FAILED"
    )
    assert Path(workspace["cwd"]).is_dir(), "nothing removed after a failed step"
    refused = await api.checkout(issue["id"], (await api.agent("x"))[1])
    assert refused["__typename"] in ("ConflictError", "ForbiddenError")

    marker.write_text("")
    retried = await api.ok(CLOSE, {"id": workspace["id"]})

    assert retried["status"] == "ARCHIVED" and retried["cleanupReason"] is None
    assert (git_repo.parent / "cleanup.count").read_text().count("ran") == 2
    assert (git_repo.parent / "teardown.count").read_text().count("ran") == 1


async def test_failed_teardown_retry_does_not_rerun_cleanup(api: Api, git_repo: Path) -> None:
    marker = git_repo.parent / "teardown-may-pass"
    issue, workspace, _ = await checked_out(
        api,
        git_repo,
        cleanupCommand=f"echo x >> {git_repo.parent}/cleanup.count",
        teardownCommand=f"test -f {marker}",
    )
    await api.ok(DONE, {"id": issue["id"]})
    assert (await api.ok(CLOSE, {"id": workspace["id"]}))["status"] == "CLEANUP_FAILED"
    marker.write_text("")

    assert (await api.ok(CLOSE, {"id": workspace["id"]}))["status"] == "ARCHIVED"
    assert (git_repo.parent / "cleanup.count").read_text() == "x\n"


async def test_primary_workspace_close_keeps_the_checkout(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    issue = await api.issue(project["id"], assigneeId=agent_id, workspaceMode="PROJECT_PRIMARY")
    workspace = (await api.checkout(issue["id"], token))["workspace"]
    (git_repo / "local-change.txt").write_text("mine\n")

    state = (await readiness(api, workspace["id"]))["closeReadiness"]
    assert state["state"] == "READY_WITH_WARNINGS" and state["steps"] == []
    closed = await api.ok(CLOSE, {"id": workspace["id"]})

    assert closed["status"] == "ARCHIVED"
    assert (git_repo / "local-change.txt").read_text() == "mine\n"
    assert (git_repo / "app.py").exists()


async def test_archived_workspace_refuses_checkout_and_a_second_close(
    api: Api, git_repo: Path
) -> None:
    issue, workspace, token = await checked_out(api, git_repo)
    await api.ok(DONE, {"id": issue["id"]})
    await api.ok(CLOSE, {"id": workspace["id"]})

    again = await api.mutate(CLOSE, {"id": workspace["id"]})
    checkout = await api.checkout(issue["id"], token)

    assert again["__typename"] == "ConflictError" and "already archived" in again["message"]
    assert checkout["__typename"] == "ConflictError"
    assert "move the issue to another workspace" in checkout["message"]


async def test_agents_cannot_close(api: Api, git_repo: Path) -> None:
    _, workspace, token = await checked_out(api, git_repo)
    refused = await api.mutate(CLOSE, {"id": workspace["id"], "force": True}, token)
    assert refused["__typename"] == "ForbiddenError"


async def test_vanished_worktree_is_reported_restored_on_checkout_and_closable(
    api: Api, git_repo: Path
) -> None:
    import shutil

    issue, workspace, token = await checked_out(api, git_repo)
    shutil.rmtree(workspace["cwd"])

    drift = (await readiness(api, workspace["id"]))["drift"]
    assert drift == [f"The worktree directory {workspace['cwd']} is missing."]
    again = await api.checkout(issue["id"], token)
    assert again["__typename"] == "CheckoutIssueSuccess"
    assert (Path(workspace["cwd"]) / "app.py").exists()
    assert (await readiness(api, workspace["id"]))["drift"] == []

    shutil.rmtree(workspace["cwd"])
    await api.ok(DONE, {"id": issue["id"]})
    closed = await api.ok(CLOSE, {"id": workspace["id"]})
    assert closed["status"] == "ARCHIVED"


async def test_branch_switched_by_hand_is_reported(api: Api, git_repo: Path) -> None:
    _, workspace, _ = await checked_out(api, git_repo)
    git(Path(workspace["cwd"]), "switch", "-q", "-c", "elsewhere")

    drift = (await readiness(api, workspace["id"]))["drift"]

    assert drift == [f"The worktree is on elsewhere, not {workspace['branchName']}."]


async def test_running_services_are_announced_stopped_and_keep_cleanup_away(
    api: Api, git_repo: Path
) -> None:
    from datetime import datetime, timedelta

    from tests.support.services import http_service, runtime_workspace, started
    from worksite.domain import cleanup

    workspace = await runtime_workspace(api, git_repo, [http_service("web")])
    service = await started(api, workspace, "web")
    assert service["status"] == "RUNNING"
    issue = (await api.gql("{ issues { id } }"))["issues"][0]
    await api.ok(DONE, {"id": issue["id"]})
    project = (await api.gql("{ projects { id } }"))["projects"][0]
    await api.ok(
        "mutation($id: ID!) { updateProject(id: $id, input: {cleanupRetentionSeconds: 1}) { __typename } }",
        {"id": project["id"]},
    )

    state = (await readiness(api, workspace.id))["closeReadiness"]
    assert "Services are running and will be stopped: web." in state["warnings"]
    assert state["steps"][0] == "stop services"
    later = datetime.now(UTC) + timedelta(days=1)
    assert await cleanup.sweep(api.settings, later) == 0, "a running service is activity"

    closed = await api.ok(CLOSE, {"id": workspace.id, "force": True})

    assert closed["status"] == "ARCHIVED"
    services = (
        await api.gql(
            "query($id: ID!) { executionWorkspace(id: $id) { services { status } } }",
            {"id": workspace.id},
        )
    )["executionWorkspace"]["services"]
    assert services == [{"status": "STOPPED"}]
