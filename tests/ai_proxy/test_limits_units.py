"""Limits: which value is in force, the used ≥ limit boundary, windows and UTC midnight."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from ai_proxy.accounting import Usage
from ai_proxy.db import adapt
from ai_proxy.errors import LimitReached
from ai_proxy.limits import check_budget, count_request, effective_limits, user_day
from ai_proxy.models import DailyUsage, UsageRecord, UserProxyLimit
from ai_proxy.shared import shared_state
from ai_proxy.usage import Outcome, RequestFacts, usage_statements
from catalog.config import CatalogModel, stored_config
from catalog.models import ProxySettings

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
HAIKU = CatalogModel("claude-haiku-4-5", "anthropic", Decimal(1), Decimal(5))


def facts(user):
    return RequestFacts(user.pk, None, None, None, "claude-haiku-4-5", "anthropic", "messages")


def record(user, input_tokens, output_tokens, day=None):
    statements = usage_statements(
        facts=facts(user),
        usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
        price=HAIKU,
        outcome=Outcome(status=200, latency_ms=5),
        day=day,
    )
    # On the test's own connection, inside its transaction (the proxy writes on its own).
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, [adapt("default", value) for value in params])


def test_environment_limits_apply_by_default(alice, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 111
    limits = effective_limits(stored_config(), user_day(alice.pk, NOON))
    assert limits.daily_input_tokens == 111
    assert limits.requests_per_minute == settings.AI_PROXY_RATE_LIMIT_RPM


def test_admin_limits_beat_the_environment_and_user_overrides_beat_both(alice, settings):
    settings.AI_PROXY_RATE_LIMIT_RPM = 30
    ProxySettings(rate_limit_rpm=10, daily_cost_cap_usd=Decimal("5.00")).save()
    assert effective_limits(stored_config(), user_day(alice.pk, NOON)).requests_per_minute == 10

    UserProxyLimit.objects.create(user=alice, rate_limit_rpm=3)
    limits = effective_limits(stored_config(), user_day(alice.pk, NOON))
    assert limits.requests_per_minute == 3
    assert limits.daily_cost_cap_usd == Decimal("5.00")


def test_usage_is_recorded_priced_and_added_to_the_day(alice):
    record(alice, 1_000_000, 200_000)
    record(alice, 10, 0)

    assert UsageRecord.objects.count() == 2
    assert UsageRecord.objects.order_by("id")[0].cost_usd == Decimal("2.000000")
    day = DailyUsage.objects.get(user=alice)
    assert (day.requests, day.input_tokens, day.output_tokens) == (2, 1_000_010, 200_000)
    assert day.cost_usd == Decimal("2.000010")


def test_one_below_the_input_budget_is_served_and_at_it_refused(alice, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 100
    record(alice, 99, 0, day=NOON.date())
    check_budget(
        user_day(alice.pk, NOON), effective_limits(stored_config(), user_day(alice.pk, NOON)), NOON
    )

    record(alice, 1, 0, day=NOON.date())
    day = user_day(alice.pk, NOON)
    with pytest.raises(LimitReached) as refused:
        check_budget(day, effective_limits(stored_config(), day), NOON)
    details = refused.value.details
    assert details["limit_name"] == "daily_input_tokens"
    assert (details["used"], details["limit"]) == (100, 100)
    assert details["retry_after"] == 12 * 3600
    assert details["resets_at"] == "2026-12-02T00:00:00+00:00"
    assert refused.value.headers["Retry-After"] == str(12 * 3600)
    assert "00:00 UTC" in refused.value.message


def test_the_output_and_cost_budgets(alice, settings):
    settings.AI_PROXY_DAILY_OUTPUT_TOKENS = 10
    settings.AI_PROXY_DAILY_COST_CAP_USD = Decimal("1.00")
    record(alice, 0, 10, day=NOON.date())
    day = user_day(alice.pk, NOON)
    with pytest.raises(LimitReached) as refused:
        check_budget(day, effective_limits(stored_config(), day), NOON)
    assert "output tokens" in refused.value.message

    settings.AI_PROXY_DAILY_OUTPUT_TOKENS = 10**9
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 10**9
    record(alice, 1_000_000, 0, day=NOON.date())  # $1.00 + $0.00005
    day = user_day(alice.pk, NOON)
    with pytest.raises(LimitReached) as refused:
        check_budget(day, effective_limits(stored_config(), day), NOON)
    assert "spend" in refused.value.message
    assert refused.value.details["limit"] == "1.00"


def test_budgets_reset_at_utc_midnight(alice, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 100
    record(alice, 100, 0, day=NOON.date())
    tomorrow = datetime(2026, 12, 2, 0, 0, 1, tzinfo=UTC)

    day = user_day(alice.pk, tomorrow)

    check_budget(day, effective_limits(stored_config(), day), tomorrow)
    assert day.input_tokens == 0


def count(user_id, limit, now):
    """`count_request` on an event loop of its own (its shared state is async)."""

    async def counted():
        try:
            return await count_request(user_id=user_id, limit=limit, now=now)
        finally:
            await shared_state.close()

    return asyncio.run(counted())


def test_the_rate_limit_serves_the_limit_and_refuses_the_next(alice):
    for served in range(3):
        window = count(alice.pk, 3, NOON)
        assert window.remaining == 2 - served

    with pytest.raises(LimitReached) as refused:
        count(alice.pk, 3, NOON)
    assert refused.value.details["retry_after"] == 60
    assert refused.value.headers["X-RateLimit-Remaining"] == "0"
    assert refused.value.headers["Retry-After"] == "60"


def test_the_rate_window_turns_over_each_minute(alice, bob):
    count(alice.pk, 1, NOON)
    with pytest.raises(LimitReached):
        count(alice.pk, 1, NOON.replace(second=59))

    count(alice.pk, 1, NOON.replace(minute=1))
    count(bob.pk, 1, NOON)
