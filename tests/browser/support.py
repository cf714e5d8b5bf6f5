"""Steps the browser tests share."""

import os
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

# `make screenshots` sets this to docs/screenshots.
SCREENSHOT_DIR = os.environ.get("SAM_SCREENSHOT_DIR", "")


def sign_in(page: Page, path: str, username: str, password: str) -> None:
    """Sign in through the login form at `path` (the admin's or the user pages')."""
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_load_state()


def screenshot(page: Page, name: str, **options: Any) -> None:
    """Save docs/screenshots/<name>.png when SAM_SCREENSHOT_DIR is set (`make screenshots`)."""
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), **options)
