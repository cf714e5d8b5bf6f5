import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from ai_proxy.models import UsageRecord
from ai_proxy.usage_stats import usage_summary

pytestmark = pytest.mark.django_db

PAGE = "/admin/ai_proxy/usagerecord/"
NOW = datetime(2026, 11, 30, 15, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def record(user, model, at, input_tokens=100, output_tokens=50, cost="0.001"):
    row = UsageRecord.objects.create(
        user=user,
        model=model,
        provider="anthropic" if model.startswith("claude") else "openai",
        route="/ai/anthropic/v1/messages",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=Decimal(cost),
        status=200,
    )
    UsageRecord.objects.filter(pk=row.pk).update(created_at=at)
    return row


def bar_groups(html):
    """data-bucket → number of model segments, for each bar group of the tokens chart."""
    start = html.index('class="chart chart-tokens"')
    chart = html[start : html.index("</svg>", start)]
    groups = re.findall(r'<g class="bar-group" data-bucket="([^"]+)">(.*?)</g>', chart, re.S)
    return {bucket: body.count("<rect") for bucket, body in groups}


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_need_the_view_permission_on_usage(client, staff_user):
    client.force_login(staff_user)
    assert client.get(PAGE).status_code == 200
    staff_user.user_permissions.clear()
    assert client.get(PAGE).status_code == 403


def test_the_week_chart_has_one_bar_group_per_day_and_one_segment_per_model(
    client, admin_user, alice
):
    record(alice, "claude-sonnet-4-6", NOW - timedelta(hours=1))
    record(alice, "gpt-4.1", NOW - timedelta(hours=2))
    record(alice, "claude-sonnet-4-6", NOW - timedelta(days=2))
    client.force_login(admin_user)
    groups = bar_groups(client.get(PAGE, {"period": "7d"}).content.decode())
    days = [(date(2026, 11, 30) - timedelta(days=n)).isoformat() for n in reversed(range(7))]
    assert list(groups) == days
    assert groups["2026-11-30"] == 2
    assert groups["2026-11-28"] == 1
    assert sum(groups.values()) == 3


@pytest.mark.parametrize(("period", "groups"), [("24h", 24), ("7d", 7), ("30d", 30)])
def test_each_period_has_its_number_of_bar_groups(client, admin_user, period, groups):
    client.force_login(admin_user)
    response = client.get(PAGE, {"period": period})
    assert response.status_code == 200
    assert len(bar_groups(response.content.decode())) == groups


def test_an_unknown_period_shows_the_week(client, admin_user):
    client.force_login(admin_user)
    assert len(bar_groups(client.get(PAGE, {"period": "1y"}).content.decode())) == 7


def test_the_totals_table_sums_by_model_and_the_period_leaves_older_usage_out(
    client, admin_user, alice, bob
):
    record(alice, "claude-sonnet-4-6", NOW - timedelta(hours=3), 1000, 200, "0.006")
    record(bob, "claude-sonnet-4-6", NOW - timedelta(days=1), 500, 100, "0.003")
    record(bob, "gpt-4.1", NOW - timedelta(days=40), 9999, 9999, "1")
    client.force_login(admin_user)
    html = "".join(client.get(PAGE, {"period": "30d"}).content.decode().split())
    assert (
        'claude-sonnet-4-6</td><tdclass="num">2</td><tdclass="num">1,500</td>'
        '<tdclass="num">300</td><tdclass="num">0.0090</td>'
    ) in html
    assert "gpt-4.1" not in html


def test_top_users_are_ordered_by_tokens(alice, bob, admin_user):
    record(alice, "gpt-4.1", NOW - timedelta(hours=1), 10, 10)
    record(bob, "gpt-4.1", NOW - timedelta(hours=1), 1000, 10)
    record(bob, "claude-haiku-4-5", NOW - timedelta(hours=2), 1000, 10)
    summary = usage_summary("24h")
    assert [(u.username, u.totals.tokens, u.totals.requests) for u in summary.top_users] == [
        ("bob", 2020, 2),
        ("alice", 20, 1),
    ]


def test_the_hourly_chart_puts_usage_in_its_utc_hour(alice):
    record(alice, "gpt-4.1", datetime(2026, 11, 30, 9, 59, tzinfo=UTC))
    summary = usage_summary("24h")
    nine = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert summary.by_bucket[nine]["gpt-4.1"].tokens == 150
    assert summary.buckets[-1] == datetime(2026, 11, 30, 15, tzinfo=UTC)


def test_days_are_utc_days_whatever_the_server_time_zone(settings, alice):
    settings.TIME_ZONE = "Pacific/Auckland"  # UTC+13: 23:30 UTC is already the next day there
    record(alice, "gpt-4.1", datetime(2026, 11, 28, 23, 30, tzinfo=UTC))
    summary = usage_summary("7d")
    assert summary.by_bucket[date(2026, 11, 28)]["gpt-4.1"].requests == 1
    assert summary.by_bucket[date(2026, 11, 29)] == {}


def test_aggregation_takes_two_queries_however_many_records(alice, bob, django_assert_num_queries):
    for hours in range(60):
        record(alice if hours % 2 else bob, "gpt-4.1", NOW - timedelta(hours=hours))
    with django_assert_num_queries(2):
        summary = usage_summary("30d")
    assert summary.total.requests == 60


def test_the_page_renders_an_empty_period(client, admin_user):
    client.force_login(admin_user)
    html = client.get(PAGE).content.decode()
    assert "No proxy usage in this period" in html
    assert "<script" not in html.split('id="content-main"')[1]
