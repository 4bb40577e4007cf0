"""Services, jobs and live updates on the workspace screen, in real Chromium."""

from __future__ import annotations

import re

import httpx2
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Scenario, open_workspace, screenshot

pytestmark = pytest.mark.browser

START_AS_AGENT = """
mutation($id: ID!) { startWorkspaceService(workspaceId: $id, name: "web") {
  __typename ... on Error { message } } }
"""
RUN_AS_AGENT = """
mutation($id: ID!) { runWorkspaceJob(workspaceId: $id, name: "migrate") {
  __typename ... on Error { message } } }
"""
FINISH_RUN = """
mutation($id: ID!) { finishRun(runId: $id, status: SUCCEEDED) {
  __typename ... on Error { message } } }
"""
LIVE_RUN = "query($id: ID!) { issue(id: $id) { liveRun { id } } }"


async def test_a_service_is_started_and_stopped_from_the_panel(
    page: Page, scenario: Scenario
) -> None:
    await open_workspace(page, scenario)
    web = page.get_by_role("listitem", name="web")

    await web.get_by_role("button", name="Start web", exact=True).click()
    await expect(page.get_by_text("Workspace service started.")).to_be_visible()
    await expect(web).to_contain_text("Running")
    await expect(web).to_contain_text("healthy")
    url = await web.get_by_role("link").get_attribute("href")
    assert url is not None and httpx2.get(url, timeout=10).status_code == 200
    await expect(web.get_by_role("button", name="Start web", exact=True)).to_be_disabled()
    await screenshot(page, "workspace-services")

    await web.get_by_role("button", name="Stop web").click()
    await expect(page.get_by_text("Workspace service stopped.")).to_be_visible()
    await expect(web).to_contain_text("Stopped")


async def test_what_an_agent_starts_shows_up_without_a_reload(
    page: Page, scenario: Scenario
) -> None:
    server, workspace_id = scenario.server, scenario.workspace["id"]
    await open_workspace(page, scenario)
    await page.get_by_role("tab", name="Runtime logs").click()
    web = page.get_by_role("listitem", name="web")
    await expect(web).not_to_contain_text("Running")

    started = server.mutate(START_AS_AGENT, {"id": workspace_id}, scenario.agent_token)
    assert started["__typename"] == "WorkspaceServicesSuccess", started
    await expect(web).to_contain_text("Running")

    ran = server.mutate(RUN_AS_AGENT, {"id": workspace_id}, scenario.agent_token)
    assert ran["__typename"] == "RunWorkspaceJobSuccess", ran
    migrate = page.locator(".operation").filter(has_text="applied 3 migrations")
    await expect(migrate.first).to_contain_text("Succeeded")


async def test_a_failing_job_shows_its_error_and_red_excerpt(
    page: Page, scenario: Scenario
) -> None:
    await open_workspace(page, scenario)
    jobs = page.get_by_role("list", name="Jobs")

    await jobs.get_by_role("button", name="Run migrate").click()
    await expect(page.get_by_text("Workspace job completed.")).to_be_visible()

    await jobs.get_by_role("button", name="Run lint").click()
    panel = page.get_by_role("region", name="Workspace commands")
    await expect(panel.get_by_role("alert")).to_have_text(
        "Workspace job failed with exit code 2: src/app.py:1: line too long"
    )

    await page.get_by_role("tab", name="Runtime logs").click()
    lint = page.locator(".operation").first
    await expect(lint).to_contain_text("Failed")
    await expect(lint.locator(".excerpt.stderr")).to_have_text("src/app.py:1: line too long")
    await lint.get_by_role("button").click()
    await expect(lint.get_by_label("Full log")).to_contain_text("line too long")
    await expect(lint.get_by_text("End of log.")).to_be_visible()
    await screenshot(page, "workspace-job-failed")


async def test_the_live_run_highlight_follows_the_run(page: Page, scenario: Scenario) -> None:
    server = scenario.server
    await open_workspace(page, scenario)
    await page.get_by_role("tab", name="Issues").click()
    row = page.get_by_role("row").filter(has_text="PAP-1")
    await expect(row).to_contain_text("Live run")

    run = server.gql(LIVE_RUN, {"id": scenario.issue["id"]})["issue"]["liveRun"]
    finished = server.mutate(FINISH_RUN, {"id": run["id"]}, scenario.agent_token)
    assert finished["__typename"] == "Run", finished

    await expect(row).not_to_contain_text("Live run")
    await expect(row).not_to_have_class(re.compile("row-live"))


UPDATE_ISSUE = """
mutation($id: ID!, $input: IssueInput!) { updateIssue(id: $id, input: $input) {
  __typename ... on Error { message } } }
"""
CREATE_AGENT_NAMED = """
mutation($input: CreateAgentInput!) { createAgent(input: $input) {
  __typename ... on CreateAgentSuccess { agent { id } } } }
"""


async def test_issue_changes_made_by_others_show_up_without_a_reload(
    page: Page, scenario: Scenario
) -> None:
    server, issue_id = scenario.server, scenario.issue["id"]
    await open_workspace(page, scenario)
    await page.get_by_role("tab", name="Issues").click()
    row = page.get_by_role("row").filter(has_text="PAP-1")
    status = row.get_by_label("Status of PAP-1")
    await expect(status).to_have_value("IN_PROGRESS")

    # The agent moves its issue to review; the operator hands it to a reviewer.
    moved = server.mutate(
        UPDATE_ISSUE,
        {"id": issue_id, "input": {"status": "IN_REVIEW"}},
        scenario.agent_token,
    )
    assert moved["__typename"] == "Issue", moved
    await expect(status).to_have_value("IN_REVIEW")
    reviewer = server.mutate(CREATE_AGENT_NAMED, {"input": {"name": "reviewer"}})
    reviewer_id = reviewer["agent"]["id"]
    server.mutate(UPDATE_ISSUE, {"id": issue_id, "input": {"assigneeId": reviewer_id}})
    await expect(row.get_by_label("Assignee of PAP-1")).to_have_value(reviewer_id)

    # The issue page and the project's issue list follow as well.
    await row.get_by_role("link", name="Fix the login form").click()
    await expect(page.get_by_role("heading", level=2)).to_have_text("Fix the login form")
    server.mutate(UPDATE_ISSUE, {"id": issue_id, "input": {"title": "Fix the sign-in form"}})
    await expect(page.get_by_role("heading", level=2)).to_have_text("Fix the sign-in form")
    await expect(page.get_by_label("Status")).to_have_value("IN_REVIEW")

    await page.goto(f"{server.url}/projects/{scenario.project['id']}/issues")
    listed = page.get_by_role("row").filter(has_text="PAP-1")
    await expect(listed).to_contain_text("Fix the sign-in form")
    server.mutate(UPDATE_ISSUE, {"id": issue_id, "input": {"status": "DONE"}})
    await expect(listed.get_by_label("Status of PAP-1")).to_have_value("DONE")


async def test_every_service_starts_and_stops_at_once_and_shows_its_live_output(
    page: Page, scenario: Scenario
) -> None:
    await open_workspace(page, scenario)
    web = page.get_by_role("listitem", name="web")

    await page.get_by_role("button", name="Start all services").click()
    await expect(page.get_by_text("Workspace services started.")).to_be_visible()
    await expect(web).to_contain_text("Running")
    await expect(page.get_by_role("button", name="Start all services")).to_be_disabled()

    # http.server logs each request it serves: the output follows it live.
    await web.get_by_role("button", name="Output of web").click()
    output = web.get_by_label("Live output of web")
    url = await web.get_by_role("link").get_attribute("href")
    assert url is not None
    httpx2.get(f"{url}/from-the-test", timeout=10)
    await expect(output).to_contain_text("GET /from-the-test")

    await page.get_by_role("button", name="Stop all services").click()
    await expect(page.get_by_text("Workspace services stopped.")).to_be_visible()
    await expect(web).to_contain_text("Stopped")
    await expect(web.get_by_text("This run has ended.")).to_be_visible()
