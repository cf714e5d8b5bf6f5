"""Rate limits and daily budgets on the proxy's routes (SPEC §10): one below is served, at
the limit refused, with 429s the official SDKs raise as their rate-limit errors."""

from datetime import UTC, datetime
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest
import time_machine
from django.utils import timezone

from ai_proxy.models import DailyUsage, UserProxyLimit
from catalog.models import ProxySettings
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy


def spent(user, *, input_tokens=0, output_tokens=0, cost="0", day=None):
    DailyUsage.objects.update_or_create(
        user=user,
        day=day or timezone.now().date(),
        defaults={
            "requests": 1,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": Decimal(cost),
        },
    )


def test_the_rate_limit_serves_up_to_the_limit_then_refuses_with_retry_after(
    proxy: LiveProxy, settings
):
    settings.AI_PROXY_RATE_LIMIT_RPM = 2

    first = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)
    second = proxy.post("v1/chat/completions", CHAT)  # shared by all routes
    third = proxy.post("v1/responses", RESPONSE)

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert second.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    error = third.json()["error"]
    assert (error["code"], error["used"], error["limit"]) == ("rate_limit_exceeded", 2, 2)
    assert len(proxy.upstream.received) == 2


def test_listing_models_counts_toward_the_rate_limit_but_not_the_budgets(
    proxy: LiveProxy, alice, settings
):
    settings.AI_PROXY_RATE_LIMIT_RPM = 1
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 10
    spent(alice, input_tokens=10)
    listing = httpx.get(
        f"{proxy.base}/v1/models", headers={"Authorization": f"Bearer {proxy.token}"}
    )

    assert listing.status_code == 200
    assert listing.headers["X-RateLimit-Remaining"] == "0"
    assert proxy.post("v1/chat/completions", CHAT).json()["error"]["code"] == "rate_limit_exceeded"


def test_the_anthropic_sdk_raises_its_rate_limit_error(proxy: LiveProxy, settings):
    settings.AI_PROXY_RATE_LIMIT_RPM = 0

    with pytest.raises(anthropic.RateLimitError) as raised:
        proxy.anthropic().messages.create(**CLAUDE_MESSAGE)

    assert raised.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert "requests per minute" in raised.value.message


def test_the_openai_sdk_raises_its_rate_limit_error(proxy: LiveProxy, settings):
    settings.AI_PROXY_RATE_LIMIT_RPM = 0

    with pytest.raises(openai.RateLimitError) as raised:
        proxy.openai().chat.completions.create(**CHAT)

    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.response.headers["Retry-After"]


@pytest.mark.parametrize(
    ("setting", "limit", "below", "at"),
    [
        ("AI_PROXY_DAILY_INPUT_TOKENS", 1000, {"input_tokens": 999}, {"input_tokens": 1000}),
        ("AI_PROXY_DAILY_OUTPUT_TOKENS", 500, {"output_tokens": 499}, {"output_tokens": 500}),
        ("AI_PROXY_DAILY_COST_CAP_USD", Decimal("2.00"), {"cost": "1.99"}, {"cost": "2.00"}),
    ],
)
def test_a_daily_budget_serves_one_below_and_refuses_at_the_limit(
    proxy: LiveProxy, alice, settings, setting, limit, below, at
):
    setattr(settings, setting, limit)
    spent(alice, **below)
    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200

    spent(alice, **at)
    refused = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert str(error["limit"]) in (str(limit), f"{limit:.2f}" if isinstance(limit, Decimal) else "")
    assert "resets at 00:00 UTC" in error["message"]
    assert error["resets_at"].endswith("T00:00:00+00:00")
    assert int(refused.headers["Retry-After"]) <= 24 * 3600


def test_the_budget_answer_in_the_openai_dialect_carries_the_figures(
    proxy: LiveProxy, alice, settings
):
    settings.AI_PROXY_DAILY_OUTPUT_TOKENS = 10
    spent(alice, output_tokens=12)

    with pytest.raises(openai.RateLimitError) as raised:
        proxy.openai().responses.create(**RESPONSE)

    body = raised.value.body
    assert isinstance(body, dict)
    assert (body["code"], body["used"], body["limit"], body["limit_name"]) == (
        "daily_budget_exceeded",
        12,
        10,
        "daily_output_tokens",
    )


def test_budgets_reset_at_midnight_utc(proxy: LiveProxy, alice, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 100
    evening = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)
    spent(alice, input_tokens=100, day=evening.date())

    with time_machine.travel(evening, tick=True):
        assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 429
    with time_machine.travel(datetime(2026, 12, 2, 0, 0, 5, tzinfo=UTC), tick=True):
        assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200


def test_admin_limits_and_user_overrides_apply(proxy: LiveProxy, alice, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 10**9
    ProxySettings(daily_input_tokens=50).save()
    spent(alice, input_tokens=60)
    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 429

    UserProxyLimit.objects.create(user=alice, daily_input_tokens=1000)
    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200


def test_limits_are_per_user(proxy: LiveProxy, bob, bob_ws, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 100
    spent(bob, input_tokens=100)

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200  # alice
    assert (
        proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE, token=bob_ws.proxy_token()).status_code
        == 429
    )
