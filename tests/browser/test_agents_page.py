import pytest
from playwright.sync_api import Page, expect

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


def test_the_agents_page_fits_a_phone_screen(phone: Page, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "mistral-vibe", MISTRAL_KEY, owner=alice)
    sign_in(phone, "/accounts/login/", "alice", "alice-password-1")
    expect(state(phone, "mistral-vibe")).to_have_text("ready: your key")
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


def test_the_users_own_key_shows_beside_the_agents_the_platform_runs(page: Page, alice, project):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    sign_in(page, "/accounts/login/", "alice", "alice-password-1")
    expect(state(page, "claude-code")).to_have_text("ready: your key")
    expect(state(page, "openai-codex")).to_have_text("ready: platform AI — no key needed")
    expect(page.locator("#agent-openai-codex .model")).to_have_text("gpt-4.1")
    expect(page.locator(".lead")).to_contain_text("3 of 5 agents are ready")
    page.click("#agent-google-gemini summary")
    expect(page.locator("label[for=secret-google-gemini]")).to_have_text("API key (GEMINI_API_KEY)")
    screenshot(page, "agents-page", full_page=True)
