"""Checkout resolves an issue's workspace: isolated, reuse, project primary."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.support.api import Api


async def setup(api: Api, repo: Path, **workspace: object) -> tuple[dict, str, str]:
    project = await api.project()
    await api.project_workspace(project["id"], cwd=str(repo), baseRef="main", **workspace)
    agent_id, token = await api.agent()
    return project, agent_id, token


async def test_isolated_checkout_makes_a_worktree_on_a_new_branch(api: Api, git_repo: Path) -> None:
    project, agent_id, token = await setup(api, git_repo, provisionCommand="echo provisioned; echo warn >&2")
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
