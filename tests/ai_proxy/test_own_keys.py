"""SPEC 22.1 through the real stack: with `proxy` delivery a user's or project's API key
stays in the control plane — agent-key points the agent at the proxy, the proxy sends the
key upstream, the usage is recorded with its source and outside the platform's budgets."""

import httpx
import pytest

from ai_proxy.key_health import State, key_health_now
from ai_proxy.models import DailyUsage, PaidBy, UsageRecord
from audit.models import AuditAction, AuditEvent
from catalog.models import ProxySettings
from credentials.models import Credential, Scope
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy
from tests.ai_proxy.test_limits_proxy import spent
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import Fail, Reply
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PROJECT_KEY,
    OPENAI_KEY,
    LiveWorkspace,
    add_credential,
)

AGENTS_PAGE = "/settings/agents/"


@pytest.fixture
def proxy_delivery(settings):
    settings.CREDENTIAL_DELIVERY = "proxy"


def agent_key(live_url: str, ws: LiveWorkspace, agent_type: str) -> httpx.Response:
    return httpx.post(
        f"{live_url}/api/workspaces/{ws.id}/agent-key",
        json={"agentType": agent_type},
        headers={"Authorization": f"Bearer {ws.token}"},
        timeout=30,
    )


def ask(proxy: LiveProxy, answer: httpx.Response, path: str, body) -> httpx.Response:
    """A request as the agent makes it, with the key agent-key gave it (in callback mode
    the placeholder, for which the agent sends its callback token)."""
    key = answer.json()["apiKey"]
    return proxy.post(path, body, token=proxy.token if key == "__platform_proxy__" else key)


@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_a_users_key_stays_here_and_the_proxy_sends_it_upstream(
    proxy: LiveProxy, live_url, ws, alice, settings, proxy_delivery, mode
):
    settings.AI_PROXY_TOKEN_MODE = mode
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    answer = agent_key(live_url, ws, "claude-code")
    served = ask(proxy, answer, "anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 200
    body = answer.json()
    assert CLAUDE_KEY not in answer.text
    assert body["credentialSource"] == "user"
    assert body["inferenceConfig"]["baseURL"].endswith("/ai/anthropic")
    assert body["inferenceConfig"]["apiKeySource"] == (
        "proxy-token" if mode == "scoped" else "callback-token"
    )
    assert not AuditEvent.objects.filter(action=AuditAction.SERVED).exists()  # nothing left
    assert served.status_code == 200
    assert proxy.upstream.last.key == CLAUDE_KEY
    record = UsageRecord.objects.get()
    assert (record.paid_by, record.upstream_key) == (PaidBy.USER, "own")
    assert DailyUsage.objects.get(user=alice).paid_by == PaidBy.USER


def test_a_project_key_is_sent_for_the_projects_workspace_and_paid_by_the_project(
    proxy: LiveProxy, live_url, ws, alice, project, proxy_delivery
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)

    answer = agent_key(live_url, ws, "claude-code")
    served = ask(proxy, answer, "anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.json()["credentialSource"] == "project"
    assert served.status_code == 200
    assert proxy.upstream.last.key == CLAUDE_PROJECT_KEY
    assert UsageRecord.objects.get().paid_by == PaidBy.PROJECT


def test_codex_and_opencode_keys_go_to_their_provider_and_claude_code_stays_on_the_platform(
    proxy: LiveProxy, live_url, ws, alice, proxy_delivery
):
    add_credential(Scope.USER, "openai-codex", OPENAI_KEY, owner=alice)
    add_credential(Scope.USER, "opencode", "sk-proj-alice-opencode-key-0000000000000", owner=alice)

    codex = proxy.post("v1/responses", RESPONSE)
    opencode = proxy.post("v1/chat/completions", CHAT)
    claude = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert [r.status_code for r in (codex, opencode, claude)] == [200] * 3
    keys = [received.key for received in proxy.upstream.received]
    assert keys == [OPENAI_KEY, "sk-proj-alice-opencode-key-0000000000000", ENV_ANTHROPIC_KEY]
    paid = list(UsageRecord.objects.order_by("id").values_list("paid_by", "upstream_key"))
    assert paid == [("user", "own"), ("user", "own"), ("platform", "env")]


def test_the_platforms_daily_budgets_do_not_apply_but_the_rate_limit_does(
    proxy: LiveProxy, alice, settings, proxy_delivery
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 100
    spent(alice, input_tokens=100)  # the platform's budget is used up
    settings.AI_PROXY_RATE_LIMIT_RPM = 2

    answers = [proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE) for _ in range(3)]
    on_the_platform = proxy.post("v1/responses", RESPONSE)  # no Codex key of her own

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["type"] == "rate_limit_error"
    assert "per minute" in answers[2].json()["error"]["message"]
    assert on_the_platform.status_code == 429  # the minute is the user's, whoever pays


def test_on_the_platforms_key_the_spent_budget_still_refuses(proxy: LiveProxy, alice, settings):
    # The same user without proxy delivery: her key would have gone to the VM; the
    # platform's budget holds for platform traffic.
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 100
    spent(alice, input_tokens=100)

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 429


def test_an_oauth_token_still_goes_to_the_vm(live_url, ws, alice, proxy_delivery):
    add_credential(
        Scope.USER,
        "claude-code",
        "sk-ant-oat01-alice-oauth-token-0000",
        owner=alice,
        kind="oauth-token",
    )

    answer = agent_key(live_url, ws, "claude-code")

    assert answer.json()["apiKey"] == "sk-ant-oat01-alice-oauth-token-0000"
    assert "inferenceConfig" not in answer.json()


def test_the_admin_chooses_per_agent_and_the_environment_decides_the_rest(
    live_url, ws, alice, proxy_upstream
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "openai-codex", OPENAI_KEY, owner=alice)
    ProxySettings.objects.create(delivery_claude_code="proxy")

    claude = agent_key(live_url, ws, "claude-code").json()
    codex = agent_key(live_url, ws, "openai-codex").json()

    assert "inferenceConfig" in claude
    assert CLAUDE_KEY not in str(claude)
    assert codex == {"apiKey": OPENAI_KEY, "credentialKind": "api-key", "credentialSource": "user"}


def test_with_the_proxy_off_a_kept_key_is_not_handed_out(
    live_url, ws, alice, settings, proxy_delivery
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.AI_PROXY_ENABLED = False

    answer = agent_key(live_url, ws, "claude-code")

    assert answer.status_code == 404
    assert CLAUDE_KEY not in answer.text


def test_a_key_the_provider_refuses_is_passed_through_and_shown_on_the_agents_page(
    proxy: LiveProxy, alice, client, proxy_delivery
):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    proxy.upstream.answer_next(Fail(401, "authentication_error", message="invalid x-api-key"))

    refused = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "invalid x-api-key"  # the provider's words
    assert len(proxy.upstream.received) == 1  # a 4xx is not tried again
    credential.refresh_from_db()
    assert credential.provider_refused_at is not None
    client.force_login(alice)
    page = client.get(AGENTS_PAGE).content.decode()
    assert "Refused by the provider at" in page
    assert CLAUDE_KEY not in page
    # Nothing about the platform's keys changed: its env key is as healthy as before.
    assert key_health_now(["env.anthropic"])[0][0].state is State.HEALTHY

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200
    credential.refresh_from_db()
    assert credential.provider_refused_at is None
    assert "Refused by the provider" not in client.get(AGENTS_PAGE).content.decode()


def test_saving_a_new_secret_clears_the_refusal(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    Credential.objects.filter(pk=credential.pk).update(provider_refused_at="2026-12-01T10:00Z")

    replaced = add_credential(
        Scope.USER, "claude-code", "sk-ant-api03-alice-new-key-0000", owner=alice
    )

    assert replaced.pk == credential.pk
    assert replaced.provider_refused_at is None


def test_the_agents_page_says_the_key_stays_on_the_platform(alice, client, proxy_delivery):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(alice)

    page = client.get(AGENTS_PAGE).content.decode()

    assert "It stays on the platform" in page


def test_the_workspace_of_another_user_never_gets_alices_key(
    proxy: LiveProxy, alice, bob_ws, proxy_delivery
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE, token=bob_ws.proxy_token())

    assert answer.status_code == 200
    assert proxy.upstream.last.key == ENV_ANTHROPIC_KEY
    assert UsageRecord.objects.get().paid_by == PaidBy.PLATFORM


def test_a_removed_key_stops_being_used_once_the_key_cache_lets_it_go(
    proxy: LiveProxy, alice, settings, proxy_delivery
):
    settings.AI_PROXY_KEY_CACHE_SECONDS = 0
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)
    credential.delete()

    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert [received.key for received in proxy.upstream.received] == [CLAUDE_KEY, ENV_ANTHROPIC_KEY]


def test_an_openai_key_never_reaches_the_anthropic_upstream(
    proxy: LiveProxy, alice, proxy_delivery
):
    # A Claude model on the chat route (translated): OpenCode's key is not an Anthropic key.
    add_credential(Scope.USER, "opencode", "sk-proj-alice-opencode-key-0000000000000", owner=alice)
    proxy.upstream.answer_next(Reply())

    answer = proxy.post("v1/chat/completions", {**CHAT, "model": "claude-haiku-4-5"})

    assert answer.status_code == 200
    assert proxy.upstream.last.key == ENV_ANTHROPIC_KEY
    assert UsageRecord.objects.get().paid_by == PaidBy.PLATFORM
