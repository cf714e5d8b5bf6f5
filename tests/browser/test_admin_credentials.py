import pytest
from playwright.sync_api import Page, expect

from credentials.models import Credential, Scope
from tests.browser.support import screenshot, sign_in
from tests.support import CLAUDE_KEY, CLAUDE_PLATFORM_KEY, OPENAI_PLATFORM_KEY, add_credential

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_platform_key_and_pages_show_only_its_hint(page: Page, admin_user, alice):
    add_credential(Scope.PLATFORM, "openai-codex", OPENAI_PLATFORM_KEY)
    add_credential(Scope.PLATFORM, "opencode", "oc-platform-key-0000000000000000FFFF", active=False)
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    page.set_viewport_size({"width": 1440, "height": 820})
    sign_in(page, "/admin/login/?next=/admin/", "admin", "admin-password-1")
    page.goto("/admin/credentials/platformcredential/add/")
    page.select_option("select[name=agent_type]", "claude-code")
    page.fill("input[name=label]", "production")
    page.fill("input[name=new_secret]", CLAUDE_PLATFORM_KEY)
    screenshot(page, "admin-add-platform-key")
    page.click("input[name=_save]")

    expect(page.locator("#result_list")).to_contain_text("…CCCC")
    expect(page.locator("#result_list")).to_contain_text("production")
    assert CLAUDE_PLATFORM_KEY not in page.content()
    screenshot(page, "admin-platform-credentials", full_page=True)

    credential = Credential.objects.get(scope=Scope.PLATFORM, agent_type="claude-code")
    assert credential.reveal_secret() == CLAUDE_PLATFORM_KEY
    for path in (
        f"/admin/credentials/platformcredential/{credential.pk}/change/",
        f"/admin/credentials/platformcredential/{credential.pk}/history/",
        "/admin/audit/auditevent/",
    ):
        page.goto(path)
        assert CLAUDE_PLATFORM_KEY not in page.content(), path
    page.goto(f"/admin/credentials/platformcredential/{credential.pk}/change/")
    assert page.input_value("input[name=new_secret]") == ""


def test_an_admin_turns_a_user_key_off_from_the_list(page: Page, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    sign_in(page, "/admin/login/?next=/admin/", "admin", "admin-password-1")
    page.goto("/admin/credentials/usercredential/")
    page.check(f"input[name=_selected_action][value='{credential.pk}']")
    page.select_option("select[name=action]", "deactivate")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Deactivated 1 credential(s).")
    credential.refresh_from_db()
    assert not credential.is_active
