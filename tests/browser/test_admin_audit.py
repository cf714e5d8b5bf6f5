import pytest
from playwright.sync_api import Page, expect

from catalog.models import ProxySettings
from tests.browser.support import screenshot, sign_in
from tests.support import CLAUDE_KEY, CLAUDE_PLATFORM_KEY, add_credential

pytestmark = pytest.mark.browser

NEW_PLATFORM_KEY = "sk-ant-api03-platform-replacement-0000000000NNNN"


def test_an_admin_reads_who_changed_a_key_and_a_limit(page: Page, admin_user, alice):
    add_credential("user", "claude-code", CLAUDE_KEY, owner=alice)
    ProxySettings(rate_limit_rpm=30).save()
    page.set_viewport_size({"width": 1440, "height": 820})
    sign_in(page, "/admin/login/?next=/admin/", "admin", "admin-password-1")
    page.goto("/admin/credentials/platformcredential/add/")
    page.select_option("select[name=agent_type]", "claude-code")
    page.fill("input[name=label]", "production")
    page.fill("input[name=new_secret]", CLAUDE_PLATFORM_KEY)
    page.click("input[name=_save]")
    page.click("text=…CCCC")
    page.fill("input[name=new_secret]", NEW_PLATFORM_KEY)
    page.click("input[name=_save]")
    page.goto("/admin/catalog/proxysettings/")
    page.fill("input[name=rate_limit_rpm]", "60")
    page.click("input[name=_save]")

    page.goto("/admin/audit/auditevent/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("rate_limit_rpm: 30 → 60")
    expect(rows.first).to_contain_text("admin")
    expect(page.locator("#result_list")).to_contain_text("hint: …CCCC → …NNNN")
    screenshot(page, "admin-audit-events", full_page=True)

    page.click('#changelist-filter >> text="credential"')
    expect(rows).to_have_count(3)
    rows.filter(has_text="…NNNN (production)").locator("a").first.click()
    table = page.locator("table.audit-changes")
    expect(table).to_contain_text("secret")
    expect(table.locator("tr.changed")).to_contain_text(["hint", "secret"])
    screenshot(page, "admin-audit-event", full_page=True)
    for secret in (CLAUDE_PLATFORM_KEY, NEW_PLATFORM_KEY):
        assert secret not in page.content()
