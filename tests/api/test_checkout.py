"""Checkout resolves an issue's workspace: isolated, reuse, project primary."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git, serve_in_process
from tests.support.api import Api
from worksite.models import ExecutionWorkspace
from worksite.models.enums import WorkspaceStatus
from worksite.settings import Settings


async def setup(api: Api, repo: Path, **workspace: object) -> tuple[dict, str, str]:
    project = await api.project()
    await api.project_workspace(project["id"], cwd=str(repo), baseRef="main", **workspace)
    agent_id, token = await api.agent()
    return project, agent_id, token


async def test_isolated_checkout_makes_a_worktree_on_a_new_branch(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(
        api, git_repo, provisionCommand="echo provisioned; echo warn >&2"
    )
    issue = await api.issue(project["id"], "Fix the login form!", assigneeId=agent_id)

    result = await api.checkout(issue["id"], token)

    assert result["__typename"] == "CheckoutIssueSuccess", result
    workspace = result["workspace"]
    assert workspace["branchName"] == "PAP-1-fix-the-login-form"
    assert workspace["mode"] == "ISOLATED" and workspace["status"] == "ACTIVE"
    cwd = Path(workspace["cwd"])
    assert cwd.is_relative_to(api.settings.sandbox_dir)
    assert (cwd / "app.py").exists()
    assert git(cwd, "rev-parse", "--abbrev-ref", "HEAD") == "PAP-1-fix-the-login-form"
    assert git(cwd, "rev-parse", "HEAD") == git(git_repo, "rev-parse", "main")
    phases = {op["phase"]: op for op in workspace["operations"]}
    assert phases["provision"]["status"] == "SUCCEEDED"
    assert phases["provision"]["stdoutExcerpt"] == "provisioned"
    assert phases["provision"]["stderrExcerpt"] == "warn"
    assert workspace["sourceIssue"]["identifier"] == "PAP-1"
    assert [i["identifier"] for i in workspace["issues"]] == ["PAP-1"]


WORKSPACE = """
query($id: ID!) { executionWorkspace(id: $id) {
  id name status lastUsedAt provisioned branchName baseRef cwd mode
  derivedFrom { id branchName } issues { identifier }
  operations { id phase status } } }
"""


async def test_second_checkout_reuses_the_workspace_without_provisioning_again(
    api: Api, git_repo: Path
) -> None:
    project, agent_id, token = await setup(api, git_repo, provisionCommand="echo once")
    issue = await api.issue(project["id"], assigneeId=agent_id)
    first = await api.checkout(issue["id"], token)
    before = (await api.gql(WORKSPACE, {"id": first["workspace"]["id"]}))["executionWorkspace"]

    second = await api.checkout(issue["id"], token)

    assert second["workspace"]["id"] == first["workspace"]["id"]
    assert second["run"]["id"] != first["run"]["id"]
    after = (await api.gql(WORKSPACE, {"id": first["workspace"]["id"]}))["executionWorkspace"]
    assert [op["phase"] for op in after["operations"]].count("provision") == 1
    assert after["lastUsedAt"] > before["lastUsedAt"]


async def test_failed_provision_fails_checkout_keeps_worktree_and_retries(
    api: Api, git_repo: Path
) -> None:
    project, agent_id, token = await setup(
        api, git_repo, provisionCommand="test -f ready || { echo 'no ready file' >&2; exit 3; }"
    )
    issue = await api.issue(project["id"], assigneeId=agent_id)

    failed = await api.checkout(issue["id"], token)

    assert failed["__typename"] == "ProvisionFailedError"
    assert failed["operation"]["exitCode"] == 3
    assert failed["operation"]["stderrExcerpt"] == "no ready file"
    assert "exit code 3" in failed["message"] and "no ready file" in failed["message"]
    workspace = (await api.gql(ISSUE_WORKSPACE, {"id": issue["id"]}))["issue"]["executionWorkspace"]
    cwd = Path(workspace["cwd"])
    assert (cwd / "app.py").exists(), "the worktree stays for inspection"
    (cwd / "ready").write_text("")

    retried = await api.checkout(issue["id"], token)

    assert retried["__typename"] == "CheckoutIssueSuccess"
    assert retried["workspace"]["id"] == workspace["id"]
    assert retried["workspace"]["provisioned"] is True
    provisions = [op for op in retried["workspace"]["operations"] if op["phase"] == "provision"]
    assert [op["status"] for op in provisions] == ["SUCCEEDED", "FAILED"]


ISSUE_WORKSPACE = (
    "query($id: ID!) { issue(id: $id) { executionWorkspace { id cwd } liveRun { id } } }"
)


async def test_reuse_takes_the_inherit_from_issues_workspace(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    first = await api.issue(project["id"], "Original", assigneeId=agent_id)
    sibling = await api.issue(
        project["id"],
        "Sibling",
        assigneeId=agent_id,
        workspaceMode="REUSE",
        inheritExecutionWorkspaceFromIssueId=first["id"],
    )
    original = await api.checkout(first["id"], token)

    shared = await api.checkout(sibling["id"], token)

    assert shared["workspace"]["id"] == original["workspace"]["id"]
    assert [i["identifier"] for i in shared["workspace"]["issues"]] == ["PAP-1", "PAP-2"]
    assert shared["workspace"]["sourceIssue"]["identifier"] == "PAP-1"


async def test_reuse_falls_back_to_the_parents_workspace(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    parent = await api.issue(project["id"], "Parent", assigneeId=agent_id)
    child = await api.issue(
        project["id"], "Child", assigneeId=agent_id, workspaceMode="REUSE", parentId=parent["id"]
    )
    original = await api.checkout(parent["id"], token)

    shared = await api.checkout(child["id"], token)

    assert shared["workspace"]["id"] == original["workspace"]["id"]


async def test_reuse_without_a_source_is_a_clear_error(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    issue = await api.issue(project["id"], assigneeId=agent_id, workspaceMode="REUSE")

    result = await api.checkout(issue["id"], token)

    assert result["__typename"] == "InvalidInputError"
    assert result["field"] == "workspaceMode"


async def test_reuse_of_an_archived_workspace_is_refused(api: Api, git_repo: Path) -> None:
    from worksite.models import ExecutionWorkspace

    project, agent_id, token = await setup(api, git_repo)
    first = await api.issue(project["id"], assigneeId=agent_id)
    original = await api.checkout(first["id"], token)
    await ExecutionWorkspace.filter(id=original["workspace"]["id"]).update(status="archived")
    follow_up = await api.issue(
        project["id"],
        assigneeId=agent_id,
        workspaceMode="REUSE",
        inheritExecutionWorkspaceFromIssueId=first["id"],
    )

    result = await api.checkout(follow_up["id"], token)

    assert result["__typename"] == "ConflictError"
    assert "archived" in result["message"]
    assert await ExecutionWorkspace.filter(project_id=project["id"]).count() == 1


async def test_project_primary_uses_the_checkout_itself(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    one = await api.issue(project["id"], assigneeId=agent_id, workspaceMode="PROJECT_PRIMARY")
    two = await api.issue(project["id"], assigneeId=agent_id, workspaceMode="PROJECT_PRIMARY")

    first = await api.checkout(one["id"], token)
    second = await api.checkout(two["id"], token)

    workspace = first["workspace"]
    assert workspace["mode"] == "PROJECT_PRIMARY" and workspace["providerType"] == "LOCAL_FS"
    assert workspace["cwd"] == str(git_repo) and workspace["branchName"] == "main"
    assert second["workspace"]["id"] == workspace["id"]
    assert git(git_repo, "worktree", "list").count("\n") == 0, "no worktree is made"


async def test_child_of_an_isolated_parent_branches_from_the_parents_branch(
    api: Api, git_repo: Path
) -> None:
    project, agent_id, token = await setup(api, git_repo)
    parent = await api.issue(project["id"], "Parent work", assigneeId=agent_id)
    parent_ws = (await api.checkout(parent["id"], token))["workspace"]
    parent_cwd = Path(parent_ws["cwd"])
    (parent_cwd / "feature.txt").write_text("from the parent\n")
    git(parent_cwd, "add", ".")
    git(parent_cwd, "commit", "-q", "-m", "parent work")
    child = await api.issue(project["id"], "Child work", assigneeId=agent_id, parentId=parent["id"])

    child_ws = (await api.checkout(child["id"], token))["workspace"]

    assert child_ws["derivedFrom"]["id"] == parent_ws["id"]
    assert child_ws["baseRef"] == parent_ws["branchName"]
    assert (Path(child_ws["cwd"]) / "feature.txt").read_text() == "from the parent\n"


DERIVE = """
mutation($id: ID!) { deriveExecutionWorkspace(id: $id) {
  __typename ... on ExecutionWorkspace { id branchName baseRef cwd derivedFrom { id } }
  ... on Error { message } } }
"""


async def test_operator_derives_a_workspace_that_keeps_the_lineage(
    api: Api, git_repo: Path
) -> None:
    project, agent_id, token = await setup(api, git_repo)
    issue = await api.issue(project["id"], assigneeId=agent_id)
    origin = (await api.checkout(issue["id"], token))["workspace"]
    git(Path(origin["cwd"]), "commit", "-q", "--allow-empty", "-m", "lineage")

    derived = await api.mutate(DERIVE, {"id": origin["id"]})

    assert derived["__typename"] == "ExecutionWorkspace"
    assert derived["derivedFrom"]["id"] == origin["id"]
    assert derived["branchName"] == f"{origin['branchName']}-derived"
    assert git(Path(derived["cwd"]), "log", "-1", "--format=%s") == "lineage"
    refused = await api.mutate(DERIVE, {"id": origin["id"]}, token)
    assert refused["__typename"] == "ForbiddenError"


async def test_repository_by_url_is_cloned_once_and_shared(api: Api, git_repo: Path) -> None:
    project = await api.project()
    await api.project_workspace(project["id"], repoUrl=f"file://{git_repo}", baseRef="origin/main")
    agent_id, token = await api.agent()
    one = await api.issue(project["id"], "One", assigneeId=agent_id)
    two = await api.issue(project["id"], "Two", assigneeId=agent_id)

    first = (await api.checkout(one["id"], token))["workspace"]
    second = (await api.checkout(two["id"], token))["workspace"]

    clones = list(api.settings.repos_dir.iterdir())
    assert len(clones) == 1
    for workspace in (first, second):
        common = git(Path(workspace["cwd"]), "rev-parse", "--git-common-dir")
        assert Path(common).resolve() == (clones[0] / ".git").resolve()
    assert first["branchName"] != second["branchName"]


async def test_existing_branch_name_gets_a_suffix(api: Api, git_repo: Path) -> None:
    git(git_repo, "branch", "PAP-1-fix-the-login-form")
    project, agent_id, token = await setup(api, git_repo)
    issue = await api.issue(project["id"], assigneeId=agent_id)

    workspace = (await api.checkout(issue["id"], token))["workspace"]

    assert workspace["branchName"] == "PAP-1-fix-the-login-form-2"


async def test_agent_cannot_check_out_another_agents_issue(api: Api, git_repo: Path) -> None:
    project, agent_id, _ = await setup(api, git_repo)
    _, other_token = await api.agent("other")
    issue = await api.issue(project["id"], assigneeId=agent_id)

    result = await api.checkout(issue["id"], other_token)

    assert result["__typename"] == "ForbiddenError"
    assert "not assigned" in result["message"]


FINISH = """
mutation($id: ID!, $status: RunStatus!) { finishRun(runId: $id, status: $status) {
  __typename ... on Run { id status finishedAt } ... on Error { message } } }
"""


async def test_finish_run_ends_the_live_run(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo)
    issue = await api.issue(project["id"], assigneeId=agent_id)
    run = (await api.checkout(issue["id"], token))["run"]
    live = (await api.gql(ISSUE_WORKSPACE, {"id": issue["id"]}))["issue"]["liveRun"]
    assert live == {"id": run["id"]}

    finished = await api.mutate(FINISH, {"id": run["id"], "status": "SUCCEEDED"}, token)

    assert finished["status"] == "SUCCEEDED" and finished["finishedAt"]
    assert (await api.gql(ISSUE_WORKSPACE, {"id": issue["id"]}))["issue"]["liveRun"] is None
    again = await api.mutate(FINISH, {"id": run["id"], "status": "FAILED"}, token)
    assert again["__typename"] == "ConflictError"


async def test_concurrent_checkouts_of_one_issue_make_one_workspace(
    api: Api, git_repo: Path
) -> None:
    import asyncio

    from worksite.models import ExecutionWorkspace

    project, agent_id, token = await setup(api, git_repo, provisionCommand="sleep 0.2")
    issue = await api.issue(project["id"], assigneeId=agent_id)

    results = await asyncio.gather(*(api.checkout(issue["id"], token) for _ in range(5)))

    assert {r["__typename"] for r in results} == {"CheckoutIssueSuccess"}
    assert len({r["workspace"]["id"] for r in results}) == 1
    assert await ExecutionWorkspace.filter(project_id=project["id"]).count() == 1


async def test_a_checkout_cut_short_by_a_stopped_server_is_finished_by_the_next(
    settings: Settings, git_repo: Path
) -> None:
    async with serve_in_process(settings) as api:
        project, agent_id, token = await setup(api, git_repo, provisionCommand="echo ready")
        issue = await api.issue(project["id"], assigneeId=agent_id)
        workspace = (await api.checkout(issue["id"], token))["workspace"]
        # As a server killed during the provision command leaves it.
        await ExecutionWorkspace.filter(id=workspace["id"]).update(
            status=WorkspaceStatus.PROVISIONING, provisioned=False
        )

    async with serve_in_process(settings) as api:
        after = (await api.gql(WORKSPACE, {"id": workspace["id"]}))["executionWorkspace"]
        assert after["status"] == "ACTIVE" and not after["provisioned"]
        again = await api.checkout(issue["id"], token)

    assert again["workspace"]["id"] == workspace["id"]
    assert again["workspace"]["provisioned"] and again["workspace"]["status"] == "ACTIVE"
    provisions = [op for op in again["workspace"]["operations"] if op["phase"] == "provision"]
    assert [op["status"] for op in provisions] == ["SUCCEEDED", "SUCCEEDED"]
