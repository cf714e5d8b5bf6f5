"""A real browser for the page tests: Debian's Chromium driven by Playwright, headless.

Chromium must be at /usr/bin/chromium (`apt-get install -y chromium`; CI installs it). If it
is missing the tests fail with that instruction rather than skip, so CI cannot go green
without them; SAM_SKIP_BROWSER_TESTS=1 skips them on purpose.

Playwright's sync API keeps an asyncio loop marked as running on the main thread while a
browser is open, and Django refuses ORM calls from a thread with a running loop
(SynchronousOnlyOperation). Nothing here is asynchronous: the test blocks while it uses the
database and Playwright waits. So the guard is lifted (DJANGO_ALLOW_ASYNC_UNSAFE) for the
tests of this folder only, and the browser is closed when the folder is done, so the rest of
the suite keeps Django's guard intact.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if os.environ.get("SAM_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SAM_SKIP_BROWSER_TESTS=1")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium`, "
            "or set SAM_SKIP_BROWSER_TESTS=1 to skip the browser tests.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Runs in every page before its own scripts; what it records is read back at the end.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


class PolicyWatch:
    """The Content Security Policy violations Chromium reported in a browser context."""

    def __init__(self, context: BrowserContext):
        self.reports: list[str] = []
        context.add_init_script(_RECORD_VIOLATIONS)
        context.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.reports.append(message.text)

    def violations(self, page: Page) -> list[str]:
        found = list(self.reports)
        if not page.is_closed():
            found += page.evaluate("window.__cspViolations || []")
        return found


def _watched_page(context: BrowserContext) -> Iterator[Page]:
    context.set_default_timeout(10_000)
    watch = PolicyWatch(context)
    page = context.new_page()
    yield page
    violations = watch.violations(page)
    context.close()
    assert violations == [], "Content Security Policy violations"


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=live_url)
    yield from _watched_page(context)


@pytest.fixture
def phone(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=live_url,
    )
    yield from _watched_page(context)
