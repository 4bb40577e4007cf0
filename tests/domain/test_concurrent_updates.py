"""Edits write only what they change, so a change made since the row was read stays.

The load run (hardening/load.py) found a rename of a workspace putting back the
lastUsedAt of a checkout made while the rename was under way: the rename wrote
every column of the row as it had read it. Each test here reads the row first,
lets the other change happen, then runs the edit on that earlier read, which is
the interleaving the load run hit by chance.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import Api
from tests.support.scenarios import checked_out_issue
from worksite.domain import issues, projects, workspaces
from worksite.domain.auth import OPERATOR
from worksite.models import ExecutionWorkspace, Issue, Project, ProjectWorkspace
from worksite.models.enums import IssuePriority, IssueStatus


def read_earlier(monkeypatch: pytest.MonkeyPatch, module: object, name: str, row: object) -> None:
    """Make module.name (the edit's lookup) answer `row` as it was read before."""

    async def earlier(_id: object) -> object:
        return row

    monkeypatch.setattr(module, name, earlier)


async def test_renaming_a_workspace_keeps_a_checkout_made_since_it_was_read(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await checked_out_issue(api, git_repo)
    before = await ExecutionWorkspace.get(id=ids["workspace"])
    result = await api.checkout(ids["issue"], ids["token"])
    assert result["__typename"] == "CheckoutIssueSuccess", result
    used = (await ExecutionWorkspace.get(id=ids["workspace"])).last_used_at
    assert used > before.last_used_at

    read_earlier(monkeypatch, workspaces, "get_workspace", before)
    renamed = await workspaces.save_workspace(OPERATOR, before.id, {"name": "renamed"})

    now = await ExecutionWorkspace.get(id=before.id)
    assert (now.name, now.last_used_at) == ("renamed", used)
    assert renamed.last_used_at == used


async def test_editing_an_issue_keeps_the_workspace_a_checkout_gave_it(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await api.project()
    await api.project_workspace(project["id"], cwd=str(git_repo), baseRef="main")
    agent_id, token = await api.agent()
    created = await api.issue(project["id"], assigneeId=agent_id)
    before = await Issue.get(id=created["id"])
    result = await api.checkout(created["id"], token)
    assert result["__typename"] == "CheckoutIssueSuccess", result

    read_earlier(monkeypatch, issues, "get_issue", before)
    await issues.update_issue(OPERATOR, before.id, {"priority": "high"})

    now = await Issue.get(id=before.id)
    assert str(now.execution_workspace_id) == result["workspace"]["id"]  # type: ignore[attr-defined]
    assert (now.status, now.priority) == (IssueStatus.IN_PROGRESS, IssuePriority.HIGH)
    again = await api.checkout(created["id"], token)
    assert again["workspace"]["id"] == result["workspace"]["id"]


async def test_editing_a_project_keeps_the_issue_numbers_handed_out_meanwhile(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await api.project()
    before = await Project.get(id=created["id"])
    await api.issue(created["id"], "First")

    read_earlier(monkeypatch, projects, "get_project", before)
    await projects.update_project(OPERATOR, before.id, {"name": "Renamed"})
    monkeypatch.undo()

    second = await api.issue(created["id"], "Second")
    assert second["identifier"] == "PAP-2"
    assert (await Project.get(id=before.id)).name == "Renamed"


async def test_editing_a_project_workspace_keeps_a_command_changed_meanwhile(
    api: Api, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = await api.project()
    created = await api.project_workspace(project["id"], cwd=str(git_repo), baseRef="main")
    before = await ProjectWorkspace.get(id=created["id"])
    await projects.update_project_workspace(
        OPERATOR, before.id, {"provision_command": "make setup"}
    )

    async def earlier(*_args: object) -> object:
        return before

    monkeypatch.setattr(projects, "find", earlier)
    await projects.update_project_workspace(OPERATOR, before.id, {"name": "renamed"})

    now = await ProjectWorkspace.get(id=before.id)
    assert (now.name, now.provision_command) == ("renamed", "make setup")
