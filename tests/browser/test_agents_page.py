import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ai_proxy.models import DailyUsage, UserProxyLimit
from credentials.models import Credential, Scope
from tests.browser.support import screenshot, sign_in
from tests.support import CLAUDE_KEY, add_credential

pytestmark = pytest.mark.browser

MISTRAL_KEY = "mistral-alice-key-00000000000000000000MMMM"


def state(page: Page, agent: str):
    return page.locator(f"#agent-{agent} .state")


def test_a_user_with_no_keys_sees_three_agents_ready_and_adds_a_key(page: Page, alice):
    sign_in(page, "/accounts/login/", "alice", "alice-password-1")
    assert page.url.endswith("/settings/agents/")
    for agent in ("claude-code", "openai-codex", "opencode"):
        expect(state(page, agent)).to_have_text("ready: platform AI — no key needed")
    for agent in ("google-gemini", "mistral-vibe"):
        expect(state(page, agent)).to_have_text("not available — add a key")

    page.click("#agent-claude-code summary")
    page.fill("#secret-claude-code", CLAUDE_KEY)
    page.fill("#label-claude-code", "laptop")
    page.click("#agent-claude-code button.primary")

    expect(state(page, "claude-code")).to_have_text("ready: your key")
    expect(page.locator("#agent-claude-code .hint")).to_have_text("…AAAA")
    expect(state(page, "openai-codex")).to_have_text("ready: platform AI — no key needed")
    assert CLAUDE_KEY not in page.content()
    assert Credential.objects.get(owner=alice).reveal_secret() == CLAUDE_KEY


def test_a_refused_key_is_explained_and_not_put_back_in_the_form(page: Page, alice):
    sign_in(page, "/accounts/login/", "alice", "alice-password-1")
    page.click("#agent-claude-code summary")
    page.fill("#secret-claude-code", "sk-ant-oat01-an-oauth-token-0000000000000")
    page.click("#agent-claude-code button.primary")
    expect(page.locator("#agent-claude-code .errors")).to_contain_text("This is an OAuth token")
    assert page.input_value("#secret-claude-code") == ""
    expect(state(page, "claude-code")).to_have_text("ready: platform AI — no key needed")


def test_a_user_turns_a_key_off_and_deletes_it(page: Page, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    sign_in(page, "/accounts/login/", "alice", "alice-password-1")
    expect(state(page, "claude-code")).to_have_text("ready: your key")
    page.click("#agent-claude-code button:has-text('Turn off')")
    expect(state(page, "claude-code")).to_have_text("ready: platform AI — no key needed")
    page.click("#agent-claude-code .confirm summary")
    page.click("#agent-claude-code button.danger")
    expect(page.locator(".messages")).to_contain_text("Deleted your key …AAAA")
    assert not Credential.objects.exists()


def a_day_of_usage(user):
    """What a morning of Claude Code on the platform and a little on the user's key leave."""
    today = timezone.now().date()
    DailyUsage.objects.create(
        user=user,
        day=today,
        requests=120,
        input_tokens=60_000,
        cache_write_5m_tokens=90_000,
        cache_read_tokens=2_400_000,
        output_tokens=36_000,
        cost_usd=Decimal("2.1345"),
    )
    DailyUsage.objects.create(
        user=user,
        day=today,
        paid_by="user",
        requests=8,
        input_tokens=12_000,
        output_tokens=2_000,
        cost_usd=Decimal("0.0660"),
    )


def test_the_agents_page_fits_a_phone_screen(phone: Page, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "mistral-vibe", MISTRAL_KEY, owner=alice)
    a_day_of_usage(alice)
    sign_in(phone, "/accounts/login/", "alice", "alice-password-1")
    expect(state(phone, "mistral-vibe")).to_have_text("ready: your key")
    meter = phone.locator("#today meter").first
    expect(meter).to_be_visible()
    box = meter.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    phone.click("#agent-openai-codex summary")
    box = phone.locator("#secret-openai-codex").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    screenshot(phone, "agents-page-phone")


def test_the_today_panel_shows_the_day_against_the_limits_in_words_and_bars(page: Page, alice):
    a_day_of_usage(alice)
    UserProxyLimit.objects.create(user=alice, daily_input_tokens=500_000)
    sign_in(page, "/accounts/login/", "alice", "alice-password-1")
    panel = page.locator("#today")
    expect(panel.locator("meter")).to_have_count(3)
    # Input (60,000) and cache writes (90,000) count against the 500,000 budget; reads do not.
    expect(panel.locator("[data-limit=input_tokens] .meter-text")).to_have_text(
        "150,000 tokens of 500,000 tokens (30%)"
    )
    bar = panel.locator("[data-limit=input_tokens] meter")
    expect(bar).to_have_accessible_name(re.compile("^Input tokens"))
    assert bar.evaluate("meter => meter.value / meter.max") == 0.3
    expect(panel.locator("[data-limit=cost_usd] .meter-text")).to_have_text(
        "USD 2.13 of USD 10.00 (21%)"
    )
    expect(panel).to_contain_text("cache hit rate 94.1%")
    expect(panel.locator(".own-keys")).to_contain_text(
        "On your own keys: 14,000 tokens, USD 0.07, 8 requests"
    )


def test_the_users_own_key_shows_beside_the_agents_the_platform_runs(page: Page, alice, project):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    a_day_of_usage(alice)
    sign_in(page, "/accounts/login/", "alice", "alice-password-1")
    expect(state(page, "claude-code")).to_have_text("ready: your key")
    expect(state(page, "openai-codex")).to_have_text("ready: platform AI — no key needed")
    expect(page.locator("#agent-openai-codex .model")).to_have_text("gpt-4.1")
    expect(page.locator(".lead")).to_contain_text("3 of 5 agents are ready")
    page.click("#agent-google-gemini summary")
    expect(page.locator("label[for=secret-google-gemini]")).to_have_text("API key (GEMINI_API_KEY)")
    screenshot(page, "agents-page", full_page=True)
