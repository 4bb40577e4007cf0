"""The operator's screens in real Chromium against a real server and git repo."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import PHONE, ConsoleErrors, Scenario, open_workspace, screenshot

pytestmark = pytest.mark.browser

WORKSPACE_SETTINGS = """
query($id: ID!) { executionWorkspace(id: $id) {
  name teardownCommand runtimeConfigSource runtimeOverride } }
"""


async def test_the_sign_in_link_signs_in_and_a_wrong_token_says_so(
    page: Page, scenario: Scenario, console_errors: ConsoleErrors
) -> None:
    server = scenario.server

    await page.goto(f"{server.url}/?token=not-the-token")
    await expect(page.get_by_role("alert")).to_have_text("That token was not accepted.")
    # The browser reports the refused request itself; nothing else may fail.
    assert all("401" in error for error in console_errors), console_errors
    console_errors.clear()

    await page.goto(server.sign_in_url())
    await expect(page.get_by_text("Signed in as operator")).to_be_visible()
    await expect(page.get_by_role("link", name="Paperwork")).to_be_visible()
    assert "token" not in page.url
    await screenshot(page, "projects")

    await page.reload()
    await expect(page.get_by_role("link", name="Paperwork")).to_be_visible()


async def test_a_project_lists_its_workspaces_and_archived_ones_on_request(
    page: Page, scenario: Scenario
) -> None:
    await page.goto(scenario.server.sign_in_url())
    await page.get_by_role("link", name="Paperwork").click()

    table = page.get_by_role("table")
    row = table.get_by_role("row").filter(has_text=scenario.workspace["name"])
    await expect(row).to_contain_text("for PAP-1 Fix the login form")
    await expect(row).to_contain_text("Isolated")
    await expect(row).to_contain_text("Git worktree")
    await expect(row).to_contain_text("Active")
    await expect(page.get_by_label("Show archived workspaces")).not_to_be_checked()
    await screenshot(page, "workspaces")

    await row.get_by_role("link", name=scenario.workspace["name"]).click()
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    await expect(crumbs).to_have_text(
        re.compile(f"Projects.*Paperwork.*Workspaces.*{scenario.workspace['name']}")
    )
    pills = page.get_by_label("Workspace kind and status")
    await expect(pills).to_have_text(re.compile("Isolated.*Git worktree.*Active"))
    location = page.get_by_role("region", name="Concrete location")
    repo_link = location.get_by_role("link", name="https://git.example.test/paperwork.git")
    await expect(repo_link).to_have_attribute("href", "https://git.example.test/paperwork.git")
    await expect(location).to_contain_text("Not scheduled")
    await expect(location).to_contain_text(scenario.workspace["cwd"])
    context = page.get_by_role("region", name="Workspace context")
    await expect(context).to_contain_text(scenario.workspace["id"])
    await screenshot(page, "workspace-configuration")


async def test_settings_are_edited_reset_and_saved(page: Page, scenario: Scenario) -> None:
    await open_workspace(page, scenario)
    name = page.get_by_label("Workspace name")
    teardown = page.get_by_label("Teardown command")

    await name.fill("login-form")
    await page.get_by_role("button", name="Reset", exact=True).click()
    await expect(name).to_have_value(scenario.workspace["name"])

    await name.fill("login-form")
    await teardown.fill("echo bye")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="saved")).to_have_text(
        "Workspace settings saved."
    )
    await expect(page.get_by_role("heading", level=2)).to_have_text("login-form")

    saved = scenario.server.gql(WORKSPACE_SETTINGS, {"id": scenario.workspace["id"]})
    assert saved["executionWorkspace"]["name"] == "login-form"
    assert saved["executionWorkspace"]["teardownCommand"] == "echo bye"
    await page.reload()
    await expect(teardown).to_have_value("echo bye")


async def test_broken_runtime_json_is_refused_inline_and_reset_to_inherit(
    page: Page, scenario: Scenario
) -> None:
    await open_workspace(page, scenario)
    editor = page.get_by_label("Runtime JSON")
    await expect(editor).to_be_hidden()
    await page.get_by_text("Advanced runtime JSON").click()
    await page.get_by_label("Inherit project workspace runtime config").uncheck()

    await editor.fill('{"commands": [')
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#runtime-json-error")).to_contain_text("Invalid JSON")
    await expect(editor).to_have_attribute("aria-invalid", "true")
    source = scenario.server.gql(WORKSPACE_SETTINGS, {"id": scenario.workspace["id"]})
    assert source["executionWorkspace"]["runtimeOverride"] is None

    await editor.fill('["web"]')
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#runtime-json-error")).to_have_text(
        'Expected a JSON object with "commands" or "services", got a list.'
    )

    override = {"commands": [{"name": "check", "kind": "job", "command": "echo ok"}]}
    await editor.fill(json.dumps(override))
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text("Workspace settings saved.")).to_be_visible()
    notice = page.locator(".notice")
    await expect(notice).to_contain_text("Execution workspace override")
    commands = page.get_by_role("region", name="Workspace commands")
    await expect(commands).to_contain_text("check")
    await screenshot(page, "workspace-runtime-json")

    await page.get_by_role("button", name="Reset to inherit").click()
    await expect(notice).to_contain_text("Project workspace default")
    await expect(page.get_by_label("Inherit project workspace runtime config")).to_be_checked()
    await expect(commands).to_contain_text("migrate")
    saved = scenario.server.gql(WORKSPACE_SETTINGS, {"id": scenario.workspace["id"]})
    assert saved["executionWorkspace"]["runtimeConfigSource"] == "PROJECT_WORKSPACE_DEFAULT"


async def test_the_last_tab_is_remembered_per_workspace_across_reloads(
    page: Page, scenario: Scenario
) -> None:
    await open_workspace(page, scenario)
    configuration = page.get_by_role("tab", name="Configuration")
    logs = page.get_by_role("tab", name="Runtime logs")
    await expect(configuration).to_have_attribute("aria-selected", "true")

    # Keyboard: arrow keys move along the tab list.
    await configuration.focus()
    await page.keyboard.press("ArrowRight")
    await expect(logs).to_have_attribute("aria-selected", "true")
    await expect(logs).to_be_focused()

    await page.reload()
    await expect(logs).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("heading", name="Recent operations")).to_be_visible()


UPDATE_PROJECT_WORKSPACE = """
mutation($id: ID!, $input: ProjectWorkspaceInput!) {
  updateProjectWorkspace(id: $id, input: $input) { __typename } }
"""
PROJECT_WORKSPACES = "query($id: ID!) { project(id: $id) { workspaces { id } } }"


async def test_runtime_logs_show_operations_their_full_log_and_failures_in_red(
    page: Page, scenario: Scenario
) -> None:
    await open_workspace(page, scenario)
    await page.get_by_role("tab", name="Runtime logs").click()

    operations = page.locator(".operation")
    provision = operations.filter(has_text="echo 'dependencies installed'")
    await expect(provision).to_contain_text("Succeeded")
    await expect(provision.locator(".excerpt")).to_have_text("dependencies installed")
    await provision.get_by_role("button").click()
    await expect(provision.get_by_label("Full log")).to_contain_text("dependencies installed")
    await expect(provision.get_by_text("End of log.")).to_be_visible()
    await screenshot(page, "workspace-runtime-logs")

    # A second issue whose provision fails leaves a workspace with a failed
    # operation: its stderr excerpt is shown in red.
    server = scenario.server
    project = server.gql(PROJECT_WORKSPACES, {"id": scenario.project["id"]})
    (project_workspace,) = project["project"]["workspaces"]
    server.mutate(
        UPDATE_PROJECT_WORKSPACE,
        {
            "id": project_workspace["id"],
            "input": {"provisionCommand": "echo 'npm ERR! missing lock file' >&2; exit 1"},
        },
    )
    issue = server.mutate(
        CREATE_ISSUE_FOR,
        {
            "input": {
                "projectId": scenario.project["id"],
                "title": "Add a dark theme",
                "assigneeId": scenario.agent_id,
            }
        },
    )
    failed = server.mutate(CHECKOUT_FAILING, {"issueId": issue["id"]}, scenario.agent_token)
    assert failed["__typename"] == "ProvisionFailedError", failed

    await page.goto(f"{server.url}/workspaces/{failed['operation']['workspace']['id']}")
    await page.get_by_role("tab", name="Runtime logs").click()
    stderr = page.locator(".operation .excerpt.stderr")
    await expect(stderr).to_have_text("npm ERR! missing lock file")
    color = await stderr.evaluate("element => getComputedStyle(element).color")
    assert color == "rgb(155, 28, 28)"
    await expect(page.locator(".operation").first).to_contain_text("Failed")


CREATE_ISSUE_FOR = """
mutation($input: CreateIssueInput!) { createIssue(input: $input) {
  __typename ... on Issue { id identifier } } }
"""
CHECKOUT_FAILING = """
mutation($issueId: ID!) { checkoutIssue(issueId: $issueId) {
  __typename ... on ProvisionFailedError { message operation { id workspace { id } } }
  ... on Error { message } } }
"""
AGENTS_AND_ISSUE = """
query($identifier: String!) { issue(identifier: $identifier) {
  status assignee { name } } }
"""


async def test_the_issues_tab_edits_issues_in_place_and_keeps_its_layout(
    page: Page, scenario: Scenario
) -> None:
    server = scenario.server
    reviewer = server.mutate(CREATE_AGENT_NAMED, {"input": {"name": "reviewer"}})
    await open_workspace(page, scenario)
    await page.get_by_role("tab", name="Issues").click()

    row = page.get_by_role("row").filter(has_text="PAP-1")
    await expect(row).to_contain_text("Fix the login form")
    await expect(row).to_contain_text("Live run")
    await expect(row).to_have_class("row-live")
    await expect(row.get_by_label("Status of PAP-1")).to_have_value("IN_PROGRESS")
    await screenshot(page, "workspace-issues")

    # The selects show what the server answered, so once they show the new
    # values the server has them.
    await row.get_by_label("Status of PAP-1").select_option("IN_REVIEW")
    await expect(row.get_by_label("Status of PAP-1")).to_have_value("IN_REVIEW")
    await row.get_by_label("Assignee of PAP-1").select_option(label="reviewer")
    await expect(row.get_by_label("Assignee of PAP-1")).to_have_value(reviewer["agent"]["id"])
    saved = server.gql(AGENTS_AND_ISSUE, {"identifier": "PAP-1"})["issue"]
    assert saved == {"status": "IN_REVIEW", "assignee": {"name": "reviewer"}}

    await page.get_by_role("group", name="Columns").get_by_label("Priority").uncheck()
    await page.get_by_role("button", name="Title").click()
    await expect(page.get_by_role("columnheader", name="Priority")).to_have_count(0)
    keys = await page.evaluate("Object.keys(localStorage)")
    view_key = f"worksite:execution-workspace-issues-view:{scenario.workspace['id']}"
    assert view_key in keys

    await page.reload()
    await expect(page.get_by_role("tab", name="Issues")).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("columnheader", name="Title")).to_have_attribute(
        "aria-sort", "ascending"
    )
    await expect(page.get_by_role("columnheader", name="Priority")).to_have_count(0)


CREATE_AGENT_NAMED = """
mutation($input: CreateAgentInput!) { createAgent(input: $input) {
  __typename ... on CreateAgentSuccess { agent { id } } } }
"""


async def test_the_issue_page_shows_its_workspace_and_runs(page: Page, scenario: Scenario) -> None:
    await page.goto(scenario.server.sign_in_url(f"/projects/{scenario.project['id']}"))
    await page.get_by_role("tab", name="Issues").click()
    await page.get_by_role("link", name="Fix the login form").click()
    await expect(page.get_by_role("heading", level=2)).to_have_text("Fix the login form")

    await open_workspace(page, scenario)
    await page.get_by_role("link", name="PAP-1 Fix the login form").click()

    await expect(page.get_by_role("heading", level=2)).to_have_text("Fix the login form")
    await expect(page.get_by_text("The submit button does nothing on Safari.")).to_be_visible()
    await expect(page.get_by_label("Status")).to_have_value("IN_PROGRESS")
    await expect(page.get_by_label("Assignee")).to_have_value(scenario.agent_id)
    details = page.get_by_role("region", name="Details")
    await expect(details).to_contain_text("Isolated (the project's default)")
    await expect(details).to_contain_text("High")
    runs = page.get_by_role("region", name="Runs")
    await expect(runs.get_by_role("row").nth(1)).to_contain_text("coder")
    await expect(runs.get_by_role("row").nth(1)).to_contain_text("Running")
    await screenshot(page, "issue")

    await details.get_by_role("link", name=scenario.workspace["name"]).click()
    await expect(page.get_by_role("heading", level=2)).to_have_text(scenario.workspace["name"])


async def test_the_workspace_screen_fits_a_phone(page: Page, scenario: Scenario) -> None:
    await page.set_viewport_size(PHONE)
    await open_workspace(page, scenario)

    assert await _overflow(page, "workspace") == []
    await expect(page.get_by_role("tab", name="Runtime logs")).to_be_visible()
    await screenshot(page, "workspace-phone")


async def test_every_screen_fits_a_phone_without_sideways_scrolling(
    page: Page, scenario: Scenario
) -> None:
    await page.set_viewport_size(PHONE)
    project = scenario.project["id"]
    workspace = scenario.workspace["name"]
    screens = [
        ("projects", "/", page.get_by_role("link", name="Paperwork")),
        (
            "project workspaces",
            f"/projects/{project}/workspaces",
            page.get_by_role("row").filter(has_text=workspace),
        ),
        (
            "project issues",
            f"/projects/{project}/issues",
            page.get_by_role("row").filter(has_text="PAP-1"),
        ),
        ("issue", "/issues/PAP-1", page.get_by_role("region", name="Runs")),
        ("agents", "/agents", page.get_by_role("heading", name="Agents", exact=True)),
    ]
    overflowing = []
    for name, path, content in screens:
        await page.goto(scenario.server.sign_in_url(path))
        await expect(content.first).to_be_visible()
        overflowing += await _overflow(page, name)

    await open_workspace(page, scenario)
    for tab, content in [
        ("Runtime logs", page.get_by_role("heading", name="Recent operations")),
        ("Issues", page.get_by_role("row").filter(has_text="PAP-1")),
        ("Configuration", page.get_by_role("heading", name="Concrete location")),
    ]:
        await page.get_by_role("tab", name=tab).click()
        await expect(content).to_be_visible()
        overflowing += await _overflow(page, f"workspace, {tab}")

    assert overflowing == []


async def _overflow(page: Page, screen: str) -> list[str]:
    """The screen, with how far it is wider than the viewport, if it is."""
    extra = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return [f"{screen}: {extra}px too wide"] if extra > 0 else []
