"""End-to-end fixtures: a real server, a real git repository, real Chromium.

Chromium is Debian's (`apt-get install chromium`, which scripts/test does when
it is missing), driven by Playwright's async API from these fixtures; no
browser is downloaded. Each test gets its own server and data directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from tests.conftest import git
from tests.support.api import (
    CHECKOUT,
    CREATE_AGENT,
    CREATE_ISSUE,
    CREATE_PROJECT,
    CREATE_PROJECT_WORKSPACE,
)
from tests.support.server import ServerProcess
from worksite.app import FRONTEND_DIST

CHROMIUM = Path("/usr/bin/chromium")
# Quiet on a closed network: no updates, sync, QUIC or background fetches.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The README's pictures are rewritten only on request (scripts/screenshots), so an
# ordinary test run leaves the checkout clean.
README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
OPERATOR_TOKEN = "e2e-operator-token"

RUNTIME_CONFIG = {
    "commands": [
        {
            "name": "web",
            "kind": "service",
            "port": "auto",
            "command": "python3 -m http.server --bind 127.0.0.1 $PORT",
            "readiness": {"http": "http://127.0.0.1:${PORT}/", "timeoutSeconds": 30},
        },
        {"name": "migrate", "kind": "job", "command": "echo 'applied 3 migrations'"},
        {
            "name": "lint",
            "kind": "job",
            "command": "echo 'src/app.py:1: line too long' >&2; exit 2",
        },
    ]
}


class WorksiteServer:
    """A served Worksite with its operator token, and a GraphQL client for it."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.url = process.url
        self.token = process.token

    def sign_in_url(self, path: str = "/") -> str:
        return f"{self.url}{path}?token={self.token}"

    def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The data of a successful answer; errors fail the test."""
        response = httpx2.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=60,
        )
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]  # type: ignore[no-any-return]

    def mutate(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The single mutation's result object (success or typed error)."""
        (result,) = self.gql(query, variables, token).values()
        return result  # type: ignore[no-any-return]


@dataclass
class Scenario:
    """What the tests find on the server: one project, one issue checked out."""

    server: WorksiteServer
    repo: Path
    project: dict
    agent_id: str
    agent_token: str
    issue: dict
    workspace: dict


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WorksiteServer]:
    if not (FRONTEND_DIST / "index.html").exists():
        pytest.fail("frontend/dist is missing: run scripts/setup (it builds the web app)")
    data_dir = tmp_path / "data"
    database_url = f"sqlite://{data_dir / 'worksite.sqlite3'}"
    process = ServerProcess(data_dir, database_url, OPERATOR_TOKEN)
    process.start()
    try:
        yield WorksiteServer(process)
    finally:
        process.stop()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "paperwork"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "README.md").write_text("# Paperwork\n")
    (repo / "app.py").write_text("print('forms')\n")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "Forms and their reviewers")
    return repo


STOP_ALL_SERVICES = """
mutation($id: ID!) { stopWorkspaceService(workspaceId: $id) { __typename } }
"""
PROJECT_WORKSPACE_IDS = """
query($id: ID!) { executionWorkspaces(projectId: $id, includeArchived: true) { id } }
"""


@pytest.fixture
def scenario(server: WorksiteServer, repo: Path) -> Iterator[Scenario]:
    project = server.mutate(
        CREATE_PROJECT,
        {
            "input": {
                "key": "PAP",
                "name": "Paperwork",
                "description": "Forms and their reviewers.",
                "defaultWorkspaceMode": "ISOLATED",
            }
        },
    )
    server.mutate(
        CREATE_PROJECT_WORKSPACE,
        {
            "input": {
                "projectId": project["id"],
                "name": "main",
                "cwd": str(repo),
                "baseRef": "main",
                "repoUrl": "https://git.example.test/paperwork.git",
                "provisionCommand": "echo 'dependencies installed'",
                "runtimeConfig": RUNTIME_CONFIG,
            }
        },
    )
    agent = server.mutate(CREATE_AGENT, {"input": {"name": "coder"}})
    issue = server.mutate(
        CREATE_ISSUE,
        {
            "input": {
                "projectId": project["id"],
                "title": "Fix the login form",
                "description": "The submit button does nothing on Safari.",
                "priority": "HIGH",
                "assigneeId": agent["agent"]["id"],
            }
        },
    )
    checkout = server.mutate(CHECKOUT, {"issueId": issue["id"]}, agent["token"])
    assert checkout["__typename"] == "CheckoutIssueSuccess", checkout
    yield Scenario(
        server=server,
        repo=repo,
        project=project,
        agent_id=agent["agent"]["id"],
        agent_token=agent["token"],
        issue=issue,
        workspace=checkout["workspace"],
    )
    # Services outlive the server by design: stop them before it goes.
    workspaces = server.gql(PROJECT_WORKSPACE_IDS, {"id": project["id"]})
    for workspace in workspaces["executionWorkspaces"]:
        server.mutate(STOP_ALL_SERVICES, {"id": workspace["id"]})


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium with apt")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


class ConsoleErrors(list[str]):
    """Errors the page logged; a test that expects some removes them."""


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
async def page(
    browser: Browser, console_errors: ConsoleErrors, server: WorksiteServer
) -> AsyncIterator[Page]:
    # Taking `server` makes the page close before the server stops, so the
    # app never sees its server go away.
    context = await browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(20_000)
    opened = await context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: console_errors.append(str(error)))
    try:
        yield opened
    finally:
        await context.close()
    assert list(console_errors) == [], "the page logged errors"


async def screenshot(page: Page, name: str) -> None:
    """A picture for the README, taken where the test has checked the screen."""
    folder = README_SCREENSHOTS
    if not os.environ.get("WORKSITE_UPDATE_SCREENSHOTS"):
        folder = Path(tempfile.gettempdir()) / "worksite-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


async def open_workspace(page: Page, scenario: Scenario) -> None:
    """Signs in with the printed link, straight onto the workspace's screen."""
    url = scenario.server.sign_in_url(f"/workspaces/{scenario.workspace['id']}")
    await page.goto(url)
    await expect(page.get_by_role("heading", level=2)).to_have_text(scenario.workspace["name"])
