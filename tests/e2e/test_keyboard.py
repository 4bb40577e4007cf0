"""The operator's main path with the keyboard alone, in real Chromium: from the
projects list to a workspace, a service started and stopped, a tab chosen."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import ConsoleErrors, Scenario

pytestmark = pytest.mark.browser

# More Tab presses than any screen here has stops before its main controls.
TAB_LIMIT = 80


async def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until target has the focus; fail if it never gets it."""
    for _ in range(TAB_LIMIT):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


async def test_the_main_path_works_with_the_keyboard_alone(
    page: Page, scenario: Scenario, console_errors: ConsoleErrors
) -> None:
    await page.goto(scenario.server.sign_in_url())
    project = page.get_by_role("link", name="Paperwork")
    await tab_to(page, project)
    await page.keyboard.press("Enter")

    workspace = page.get_by_role("link", name=scenario.workspace["name"])
    await tab_to(page, workspace)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2)).to_have_text(scenario.workspace["name"])

    web = page.get_by_role("listitem", name="web")
    await tab_to(page, web.get_by_role("button", name="Start web", exact=True))
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Workspace service started.")).to_be_visible()
    await expect(web).to_contain_text("Running")

    await tab_to(page, web.get_by_role("button", name="Stop web"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Workspace service stopped.")).to_be_visible()

    issues = page.get_by_role("tab", name="Issues")
    await tab_to(page, page.get_by_role("tab", selected=True))
    await page.keyboard.press("End")
    await expect(issues).to_be_focused()
    await expect(issues).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("tabpanel")).to_contain_text("PAP-1")
    assert not console_errors, console_errors
