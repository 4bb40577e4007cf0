"""Closing a workspace from its screen: readiness first, force only when needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.conftest import git
from tests.e2e.conftest import Scenario, open_workspace, screenshot

pytestmark = pytest.mark.browser

SAVE = """
mutation($id: ID!, $input: SaveExecutionWorkspaceInput!) {
  saveExecutionWorkspace(id: $id, input: $input) { __typename } }
"""
UPDATE_ISSUE = """
mutation($id: ID!, $input: IssueInput!) { updateIssue(id: $id, input: $input) { __typename } }
"""
STATUS = "query($id: ID!) { executionWorkspace(id: $id) { status savedWorkRef } }"


async def test_closing_a_dirty_workspace_asks_for_force_and_keeps_the_work(
    page: Page, scenario: Scenario
) -> None:
    worktree = Path(scenario.workspace["cwd"])
    (worktree / "app.py").write_text("print('half done')\n")
    (worktree / "notes.txt").write_text("try the other form library\n")
    await open_workspace(page, scenario)

    await page.get_by_role("button", name="Close workspace").click()
    dialog = page.get_by_role("dialog", name=re.compile("close readiness"))
    await expect(dialog).to_contain_text("Blocked")
    blockers = dialog.get_by_role("list", name="What blocks closing")
    await expect(blockers).to_contain_text("Uncommitted work: 1 modified and 1 untracked files.")
    await expect(blockers).to_contain_text("PAP-1")
    await dialog.get_by_role("button", name="Force close").scroll_into_view_if_needed()
    await screenshot(page, "workspace-close")

    await dialog.get_by_role("button", name="Force close").click()
    pills = page.get_by_label("Workspace kind and status")
    await expect(pills).to_contain_text("Archived")
    await expect(page.get_by_role("button", name="Close workspace")).to_have_count(0)
    ref = f"refs/worksite/archive/{scenario.workspace['id']}"
    location = page.get_by_role("region", name="Concrete location")
    await expect(location).to_contain_text(ref)
    assert git(scenario.repo, "show-ref", "--verify", ref)
    assert not worktree.exists()

    await page.get_by_role("link", name="Workspaces").click()
    await expect(page.get_by_text("No execution workspaces yet.")).to_be_visible()
    await page.get_by_label("Show archived workspaces").check()
    await expect(page.get_by_role("row").filter(has_text="Archived")).to_have_count(1)


async def test_a_failed_close_is_retried_after_the_fix(page: Page, scenario: Scenario) -> None:
    server, workspace_id = scenario.server, scenario.workspace["id"]
    server.mutate(UPDATE_ISSUE, {"id": scenario.issue["id"], "input": {"status": "DONE"}})
    failing = "echo 'port 5173 is still in use' >&2; exit 1"
    server.mutate(SAVE, {"id": workspace_id, "input": {"cleanupCommand": failing}})
    await open_workspace(page, scenario)

    await page.get_by_role("button", name="Close workspace").click()
    dialog = page.get_by_role("dialog", name=re.compile("close readiness"))
    await expect(dialog).to_contain_text("Ready to close")
    await expect(dialog).to_contain_text("cleanup command")
    await dialog.get_by_role("button", name="Close workspace").click()

    await expect(dialog.get_by_role("alert")).to_contain_text("port 5173 is still in use")
    pills = page.get_by_label("Workspace kind and status")
    await expect(pills).to_contain_text("Cleanup failed")
    await dialog.get_by_role("button", name="Cancel").click()

    # In the project's list the failed workspace stands out.
    await page.get_by_role("link", name="Workspaces").click()
    row = page.get_by_role("row").filter(has_text=scenario.workspace["name"])
    await expect(row).to_have_class("row-failed")
    await expect(row).to_contain_text("Cleanup failed")
    await screenshot(page, "workspaces-cleanup-failed")
    await row.get_by_role("link").click()

    retry = page.get_by_role("button", name="Retry close")
    await expect(retry).to_be_visible()

    await page.get_by_label("Cleanup command").fill("echo 'ports freed'")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text("Workspace settings saved.")).to_be_visible()
    await retry.click()
    dialog = page.get_by_role("dialog", name=re.compile("Retry close"))
    await dialog.get_by_role("button", name="Retry close").click()

    await expect(pills).to_contain_text("Archived")
    assert server.gql(STATUS, {"id": workspace_id})["executionWorkspace"]["status"] == "ARCHIVED"
    await page.get_by_role("tab", name="Runtime logs").click()
    cleanup = page.locator(".operation").filter(has_text="echo 'ports freed'")
    await expect(cleanup).to_contain_text("Succeeded")
    failed = page.locator(".operation").filter(has_text="port 5173 is still in use")
    await expect(failed.locator(".excerpt.stderr")).to_be_visible()
