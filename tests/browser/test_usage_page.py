from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from ai_proxy.models import UsageRecord
from tests.browser.support import screenshot, sign_in

pytestmark = pytest.mark.browser

# (username, model, daily uncached input, cache reads, output, paid by, key): a week of
# steady traffic; Claude Code's requests mostly read the cache.
TRAFFIC = [
    ("alice", "claude-sonnet-4-6", 4_000, 38_000, 9_000, "platform", "main"),
    ("alice", "gpt-4.1-mini", 8_000, 4_000, 3_000, "platform", "main"),
    ("bob", "claude-sonnet-4-6", 2_000, 16_000, 4_000, "platform", "spare"),
    ("bob", "gpt-4.1", 25_000, 0, 6_000, "user", "own"),
    ("carol", "claude-haiku-4-5", 1_000, 7_000, 2_500, "platform", "main"),
]


def seed_week_of_usage():
    users = {
        name: get_user_model().objects.get_or_create(username=name)[0]
        for name in {row[0] for row in TRAFFIC}
    }
    now = timezone.now()
    for day in range(7):
        for index, (name, model, uncached, read, output, paid_by, key) in enumerate(TRAFFIC):
            scale = 1 + ((day * 3 + index) % 5) / 4  # varied, but deterministic
            claude = model.startswith("claude")
            record = UsageRecord.objects.create(
                user=users[name],
                model=model,
                provider="anthropic" if claude else "openai",
                route="/ai/v1/chat/completions",
                input_tokens=int(uncached * scale),
                cache_write_5m_tokens=int(uncached * scale / 2) if claude else 0,
                cache_read_tokens=int(read * scale),
                output_tokens=int(output * scale),
                cost_usd=Decimal("0.0123") * int(scale * 10),
                paid_by=paid_by,
                upstream_key=key,
                status=200,
            )
            UsageRecord.objects.filter(pk=record.pk).update(
                created_at=now - timedelta(days=day, minutes=index)
            )


def test_the_usage_page_draws_a_bar_group_per_day(page: Page, admin_user):
    seed_week_of_usage()
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "/admin/login/?next=/admin/", "admin", "admin-password-1")
    page.goto("/admin/ai_proxy/usagerecord/?period=7d")
    chart = page.locator("svg.chart-tokens")
    expect(chart).to_be_visible()
    expect(chart.locator("g.bar-group")).to_have_count(7)
    for group in chart.locator("g.bar-group").all():
        assert group.locator("rect").count() == len({row[1] for row in TRAFFIC})
    expect(page.locator("svg.chart-users g.user-bar")).to_have_count(3)
    expect(page.locator(".usage-models")).to_contain_text("claude-sonnet-4-6")
    # The keys: anthropic · main, openai · main, anthropic · spare, and bob's own key.
    expect(page.locator("svg.chart-keys g.key-bar")).to_have_count(4)
    expect(page.locator(".usage-keys tbody tr")).to_have_count(3)
    expect(page.locator(".usage-payers tbody tr")).to_have_count(2)
    expect(page.locator(".usage-payers")).to_contain_text("User's own key")
    expect(page.locator(".usage-summary")).to_contain_text("cache hit rate")
    screenshot(page, "usage-page", full_page=True)

    page.click("text=Last 30 days")
    expect(page.locator("svg.chart-tokens g.bar-group")).to_have_count(30)
    page.click("text=Last 24 hours")
    expect(page.locator("svg.chart-tokens g.bar-group")).to_have_count(24)
