"""Pages work under the Content Security Policy the server sends (the `page` fixture fails a
test on any violation), and a violation would be caught."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PolicyWatch
from tests.browser.support import sign_in

pytestmark = pytest.mark.browser


def test_the_api_docs_render_their_operations(page: Page):
    page.goto("/api/docs/")

    expect(page.locator(".opblock-summary-path", has_text="agent-key").first).to_be_visible()
    expect(
        page.locator(".opblock-summary-path", has_text="/ai/v1/chat/completions")
    ).to_be_visible()


def test_a_locked_sign_in_shows_its_page(page: Page, alice):
    for _ in range(10):
        sign_in(page, "/accounts/login/", "alice", "wrong-password")

    expect(page.locator("h1")).to_have_text("Too many failed sign-ins")
    expect(page.locator("[role=alert]")).to_contain_text("locked for 15 minutes")


def test_the_not_found_page_renders(page: Page):
    response = page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not Found")


def test_the_browser_reports_a_violation_of_the_policy(browser: Browser, live_url: str):
    context = browser.new_context(base_url=live_url)
    watch = PolicyWatch(context)
    page = context.new_page()
    page.goto("/accounts/login/")

    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("window.__cspViolations.length > 0")
    for _ in range(100):  # the console message may come a moment after the event
        if watch.reports:
            break
        page.wait_for_timeout(20)

    assert "style-src" in watch.reports[0]
    assert len(watch.violations(page)) == 2
    context.close()
