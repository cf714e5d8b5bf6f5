from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from ai_proxy.models import UsageRecord
from tests.browser.support import screenshot, sign_in

pytestmark = pytest.mark.browser

# (username, model, daily input tokens, daily output tokens): a week of steady traffic.
TRAFFIC = [
    ("alice", "claude-sonnet-4-6", 42_000, 9_000),
    ("alice", "gpt-4.1-mini", 12_000, 3_000),
    ("bob", "claude-sonnet-4-6", 18_000, 4_000),
    ("bob", "gpt-4.1", 25_000, 6_000),
    ("carol", "claude-haiku-4-5", 8_000, 2_500),
]


def seed_week_of_usage():
    users = {
        name: get_user_model().objects.get_or_create(username=name)[0]
        for name in {row[0] for row in TRAFFIC}
    }
    now = timezone.now()
    for day in range(7):
        for index, (name, model, input_tokens, output_tokens) in enumerate(TRAFFIC):
            scale = 1 + ((day * 3 + index) % 5) / 4  # varied, but deterministic
            record = UsageRecord.objects.create(
                user=users[name],
                model=model,
                provider="anthropic" if model.startswith("claude") else "openai",
                route="/ai/v1/chat/completions",
                input_tokens=int(input_tokens * scale),
                output_tokens=int(output_tokens * scale),
                cost_usd=Decimal("0.0123") * int(scale * 10),
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
    expect(page.locator(".usage-table").first).to_contain_text("claude-sonnet-4-6")
    screenshot(page, "usage-page", full_page=True)

    page.click("text=Last 30 days")
    expect(page.locator("svg.chart-tokens g.bar-group")).to_have_count(30)
    page.click("text=Last 24 hours")
    expect(page.locator("svg.chart-tokens g.bar-group")).to_have_count(24)
