"""The Agents screen in real Chromium: a token is shown once, works, and stops
working the moment the agent is revoked."""

from __future__ import annotations

import httpx2
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import PHONE, WorksiteServer, screenshot
from tests.support.api import CREATE_AGENT

pytestmark = pytest.mark.browser

VIEWER = "{ viewer { role name } }"


def viewer_as(server: WorksiteServer, token: str) -> httpx2.Response:
    return httpx2.post(
        f"{server.url}/graphql",
        json={"query": VIEWER},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


async def test_an_agent_is_created_its_token_works_once_shown_and_revoking_stops_it(
    page: Page, server: WorksiteServer
) -> None:
    server.mutate(CREATE_AGENT, {"input": {"name": "reviewer"}})
    await page.goto(server.sign_in_url())
    await page.get_by_role("navigation", name="Sections").get_by_role("link", name="Agents").click()
    await expect(page.get_by_role("heading", level=2)).to_have_text("Agents")
    name = page.get_by_label("Name", exact=True)

    # An empty name is the server's to refuse; the message stands by the field.
    await name.fill("  ")
    await name.press("Enter")
    error = page.locator("#new-agent-name-error")
    await expect(error).to_have_text("name: expected a non-empty value")
    assert await error.evaluate("e => getComputedStyle(e).color") == "rgb(155, 28, 28)"
    await expect(name).to_have_value("  ")

    await name.fill("coder")
    await name.press("Enter")
    box = page.get_by_role("region", name="Token for coder")
    await expect(box).to_contain_text("it will not be shown again")
    token = await box.locator("code.token").inner_text()
    await expect(box.locator("pre")).to_contain_text(f"Authorization: Bearer {token}")
    await expect(page.get_by_role("row").filter(has_text="coder")).to_contain_text("Active")
    await screenshot(page, "agents")

    answer = viewer_as(server, token)
    assert answer.status_code == 200
    assert answer.json() == {"data": {"viewer": {"role": "AGENT", "name": "coder"}}}

    # A second "coder" is refused, and the token shown before is gone for good.
    await name.fill("coder")
    await page.get_by_role("button", name="Create agent").click()
    await expect(error).to_contain_text("An active agent named 'coder' already exists")
    await expect(name).to_have_value("coder")
    await expect(page.get_by_text(token)).to_have_count(0)

    # Revoke with the keyboard: Revoke opens the confirmation, Tab reaches it.
    row = page.get_by_role("row").filter(has_text="coder")
    await row.get_by_role("button", name="Revoke coder").focus()
    await page.keyboard.press("Enter")
    confirm = page.get_by_role("group", name="Confirm revoking coder").get_by_role(
        "button", name="Confirm revoke"
    )
    await page.keyboard.press("Tab")
    await expect(confirm).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(row.get_by_text("Revoked")).to_be_visible()
    await expect(row.get_by_role("button")).to_have_count(0)

    assert viewer_as(server, token).status_code == 401

    await page.reload()
    await expect(page.get_by_role("cell", name="reviewer", exact=True)).to_be_visible()
    await expect(page.get_by_role("cell", name="coder", exact=True)).to_have_count(0)
    await page.get_by_label("Show revoked agents").check()
    revoked = page.get_by_role("row").filter(has_text="coder")
    await expect(revoked).to_contain_text("Revoked")


async def test_the_agents_screen_fits_a_phone(page: Page, server: WorksiteServer) -> None:
    server.mutate(CREATE_AGENT, {"input": {"name": "a-rather-long-agent-name-for-a-phone"}})
    await page.set_viewport_size(PHONE)
    await page.goto(server.sign_in_url("/agents"))
    await page.get_by_label("Name", exact=True).fill("coder")
    await page.get_by_role("button", name="Create agent").click()
    await expect(page.get_by_role("region", name="Token for coder")).to_be_visible()
    await page.get_by_role("button", name="Revoke coder").click()
    await expect(page.get_by_role("button", name="Confirm revoke")).to_be_visible()

    # Nothing is cut off or needs a sideways scroll, the table included.
    for selector in ("html", ".table-scroll"):
        overflow = await page.locator(selector).evaluate("e => e.scrollWidth - e.clientWidth")
        assert overflow == 0, selector
    token = await page.locator("code.token").bounding_box()
    assert token is not None and token["x"] + token["width"] <= PHONE["width"]
