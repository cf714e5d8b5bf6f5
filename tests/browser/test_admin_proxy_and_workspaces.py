import re

import pytest
from playwright.sync_api import Page, expect

from catalog.models import ProxySettings
from tests.browser.support import screenshot, sign_in
from tests.support import make_workspace
from workspaces.models import WorkspaceToken
from workspaces.tokens import hash_token

pytestmark = pytest.mark.browser


def test_an_admin_sets_a_default_model_and_sees_which_layer_is_in_force(
    page: Page, admin_user, settings
):
    settings.AI_PROXY_RATE_LIMIT_RPM = 60
    ProxySettings(default_model_opencode="gpt-5.2", daily_output_tokens=100_000).save()
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "/admin/login/?next=/admin/", "admin", "admin-password-1")
    page.goto("/admin/catalog/proxysettings/")
    page.select_option("select[name=default_model_claude_code]", "claude-haiku-4-5")
    page.click("input[name=_continue]")

    in_force = page.locator("table.in-force")
    claude = in_force.locator("tr", has_text="Default model: Claude Code")
    expect(claude).to_contain_text("claude-haiku-4-5")
    expect(claude.locator(".layer")).to_have_text("admin")
    expect(in_force.locator("tr", has_text="Default model: Codex").locator(".layer")).to_have_text(
        "built-in"
    )
    expect(in_force.locator("tr", has_text="Requests per minute").locator(".layer")).to_have_text(
        "env"
    )
    screenshot(page, "admin-proxy-settings", full_page=True)
    assert ProxySettings.objects.get().default_model_claude_code == "claude-haiku-4-5"


def test_an_admin_mints_a_callback_token_that_is_shown_once(page: Page, admin_user, alice):
    ws = make_workspace(alice)
    sign_in(page, "/admin/login/?next=/admin/", "admin", "admin-password-1")
    page.goto("/admin/workspaces/workspace/")
    page.check(f"input[name=_selected_action][value='{ws.id}']")
    page.select_option("select[name=action]", "mint_callback_token")
    page.click("button[name=index]")

    raw = page.locator("code.minted-token").inner_text()
    assert re.fullmatch(r"sam_cb_[A-Za-z0-9_-]{43}", raw)
    assert WorkspaceToken.objects.filter(token_hash=hash_token(raw)).exists()
    page.goto(f"/admin/workspaces/workspace/{ws.id}/change/")
    expect(page.locator("#tokens-group")).to_contain_text(raw[:12] + "…")
    assert raw not in page.content()
