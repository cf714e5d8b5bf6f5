import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import time_machine

from ai_proxy.models import UsageRecord
from ai_proxy.usage_stats import usage_summary
from credentials.models import Scope
from tests.support import CLAUDE_PLATFORM_KEY, add_credential

pytestmark = pytest.mark.django_db

PAGE = "/admin/ai_proxy/usagerecord/"
NOW = datetime(2026, 11, 30, 15, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def record(
    user,
    model,
    at,
    input_tokens=100,
    output_tokens=50,
    cost="0.001",
    *,
    write_5m=0,
    write_1h=0,
    read=0,
    paid_by="platform",
    key="main",
    pre_split=False,
):
    row = UsageRecord.objects.create(
        user=user,
        model=model,
        provider="anthropic" if model.startswith("claude") else "openai",
        route="/ai/anthropic/v1/messages",
        input_tokens=input_tokens,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        cache_read_tokens=read,
        output_tokens=output_tokens,
        cost_usd=Decimal(cost),
        paid_by=paid_by,
        upstream_key=key if paid_by == "platform" else "own",
        status=200,
    )
    # pre_split is not editable: only the migration sets it (and this update).
    UsageRecord.objects.filter(pk=row.pk).update(created_at=at, pre_split=pre_split)
    return row


class Tables(HTMLParser):
    """Each <table> of the page by its classes: its rows, each a list of its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._rows = self.tables.setdefault(dict(attrs).get("class", ""), [])
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(response) -> dict[str, list[list[str]]]:
    """table class → its rows (header row first)."""
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def rows_by_name(table: list[list[str]]) -> dict[str, list[str]]:
    """The body rows of a table by their first cell, the header row left out."""
    return {row[0]: row[1:] for row in table[1:]}


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
    response = client.get(PAGE, {"period": "30d"})
    models = rows_by_name(tables(response)["usage-table usage-models"])
    assert models["claude-sonnet-4-6"] == ["2", "1,500", "0", "0", "300", "0.0090", "0.0%"]
    assert "gpt-4.1" not in response.content.decode()


def test_totals_show_each_token_kind_the_cost_and_the_cache_hit_rate(
    client, admin_user, alice, bob
):
    # Claude Code's pattern: a little new input, a cache write, mostly cache reads.
    record(
        alice,
        "claude-sonnet-4-6",
        NOW - timedelta(hours=1),
        200,
        300,
        "0.0152",
        write_5m=1_000,
        write_1h=800,
        read=18_000,
    )
    record(bob, "claude-sonnet-4-6", NOW - timedelta(hours=2), 100, 100, "0.0049", read=9_900)
    record(bob, "gpt-4.1", NOW - timedelta(hours=3), 400, 50, "0.0012", read=1_600)
    client.force_login(admin_user)

    page = tables(client.get(PAGE, {"period": "24h"}))

    models = rows_by_name(page["usage-table usage-models"])
    # Input 300, writes 1,800, reads 27,900 → hit rate 27,900 / 30,000.
    assert models["claude-sonnet-4-6"] == ["2", "300", "1,800", "27,900", "400", "0.0201", "93.0%"]
    assert models["gpt-4.1"] == ["1", "400", "0", "1,600", "50", "0.0012", "80.0%"]
    assert models["All models"] == ["3", "700", "1,800", "29,500", "450", "0.0213", "92.2%"]
    users = rows_by_name(page["usage-table usage-users"])
    assert users["alice"] == ["1", "200", "1,800", "18,000", "300", "0.0152", "90.0%"]
    assert users["bob"] == ["2", "500", "0", "11,500", "150", "0.0061", "95.8%"]


def test_the_summary_shows_the_kinds_and_the_hit_rate(client, admin_user, alice):
    record(
        alice,
        "claude-sonnet-4-6",
        NOW - timedelta(hours=1),
        1_000,
        300,
        "0.0152",
        write_5m=500,
        write_1h=500,
        read=8_000,
    )
    client.force_login(admin_user)
    html = client.get(PAGE, {"period": "24h"}).content.decode()
    summary = html[html.index('class="usage-summary"') : html.index("</section>")]
    figures = re.findall(
        r'<span class="figure">([^<]+)</span><span class="caption">([^<]+)</span>', summary
    )
    assert figures == [
        ("1", "requests"),
        ("1,000", "input tokens (uncached)"),
        ("1,000", "cache writes"),
        ("8,000", "cache reads"),
        ("300", "output tokens"),
        ("$0.02", "cost (catalog prices)"),
        ("80.0%", "cache hit rate"),
    ]


def test_usage_is_split_by_platform_key_and_by_payer(client, admin_user, alice, bob):
    record(
        alice, "claude-sonnet-4-6", NOW - timedelta(hours=1), 100, 10, "0.01", key="main", read=900
    )
    record(bob, "claude-haiku-4-5", NOW - timedelta(hours=2), 100, 10, "0.02", key="main")
    record(bob, "claude-sonnet-4-6", NOW - timedelta(hours=3), 300, 30, "0.03", key="spare")
    record(alice, "gpt-4.1", NOW - timedelta(hours=4), 50, 5, "0.04", key="main")
    record(
        alice,
        "claude-sonnet-4-6",
        NOW - timedelta(hours=5),
        1_000,
        100,
        "0.05",
        paid_by="user",
        read=3_000,
    )
    record(bob, "gpt-4.1", NOW - timedelta(hours=6), 2_000, 200, "0.06", paid_by="project")
    client.force_login(admin_user)

    response = client.get(PAGE, {"period": "24h"})
    page = tables(response)

    keys = {(row[0], row[1]): row[2:] for row in page["usage-table usage-keys"][1:]}
    assert keys == {
        ("anthropic", "main"): ["2", "200", "0", "900", "20", "0.0300", "81.8%"],
        ("anthropic", "spare"): ["1", "300", "0", "0", "30", "0.0300", "0.0%"],
        ("openai", "main"): ["1", "50", "0", "0", "5", "0.0400", "0.0%"],
    }
    assert rows_by_name(page["usage-table usage-payers"]) == {
        "Platform": ["4", "550", "0", "900", "55", "0.1000", "62.1%"],
        "User's own key": ["1", "1,000", "0", "3,000", "100", "0.0500", "75.0%"],
        "Project's key": ["1", "2,000", "0", "0", "200", "0.0600", "0.0%"],
    }
    html = response.content.decode()
    chart = html[html.index('class="chart chart-keys"') :]
    chart = chart[: chart.index("</svg>")]
    labels = re.findall(r'class="row-label">([^<]+)</text>', chart)
    assert labels == [
        "anthropic · main",
        "anthropic · spare",
        "openai · main",
        "User&#x27;s own key",
        "Project&#x27;s key",
    ]


def test_rows_recorded_before_the_kinds_were_split_are_counted_as_recorded_and_flagged(
    client, admin_user, alice, bob
):
    # Before the split, all input (cached or not) was in input_tokens.
    record(
        alice,
        "claude-sonnet-4-6",
        NOW - timedelta(hours=1),
        20_000,
        100,
        "0.0620",
        key="",
        pre_split=True,
    )
    record(
        alice,
        "claude-sonnet-4-6",
        NOW - timedelta(hours=2),
        20_000,
        100,
        "0.0620",
        key="",
        pre_split=True,
    )
    record(bob, "claude-sonnet-4-6", NOW - timedelta(hours=1), 1_000, 100, "0.0100", read=9_000)
    client.force_login(admin_user)

    response = client.get(PAGE, {"period": "24h"})
    html = " ".join(response.content.decode().split())
    page = tables(response)

    assert (
        "2 requests recorded before cache tokens were counted apart: their input "
        "(40,000 tokens) includes cache writes and reads, and the cache hit rate leaves them out."
    ) in html
    models = rows_by_name(page["usage-table usage-models"])
    # Counted as recorded; the hit rate is bob's alone: 9,000 / 10,000.
    assert models["claude-sonnet-4-6 *"] == ["3", "41,000", "0", "9,000", "300", "0.1340", "90.0%"]
    users = rows_by_name(page["usage-table usage-users"])
    assert users["alice *"] == ["2", "40,000", "0", "0", "200", "0.1240", "—"]
    assert users["bob"][-1] == "90.0%"
    keys = {(row[0], row[1]): row[2:] for row in page["usage-table usage-keys"][1:]}
    assert keys[("anthropic", "no label recorded *")][0] == "2"


def test_without_rows_recorded_before_the_split_there_is_no_such_note(client, admin_user, alice):
    record(alice, "gpt-4.1", NOW - timedelta(hours=1))
    client.force_login(admin_user)
    html = client.get(PAGE, {"period": "24h"}).content.decode()
    assert "recorded before cache tokens were counted apart" not in html.split("<table")[0]
    assert "pre-split-note" not in html


def test_a_staff_member_with_the_view_permission_sees_the_split_by_key_but_no_secret(
    client, staff_user, alice
):
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    record(alice, "claude-sonnet-4-6", NOW - timedelta(hours=1), key="main")
    client.force_login(staff_user)
    response = client.get(PAGE, {"period": "24h"})
    assert response.status_code == 200
    keys = tables(response)["usage-table usage-keys"]
    assert keys[1][:3] == ["anthropic", "main", "1"]
    assert CLAUDE_PLATFORM_KEY not in response.content.decode()
    assert CLAUDE_PLATFORM_KEY[-4:] not in response.content.decode()


def test_the_user_bars_stack_one_segment_per_kind_used(client, admin_user, alice, bob):
    record(alice, "claude-sonnet-4-6", NOW - timedelta(hours=1), 100, 10, write_5m=50, read=400)
    record(bob, "gpt-4.1", NOW - timedelta(hours=1), 100, 10)
    client.force_login(admin_user)
    html = client.get(PAGE, {"period": "24h"}).content.decode()
    chart = html[html.index('class="chart chart-users"') :]
    chart = chart[: chart.index("</svg>")]
    bars = re.findall(r'<g class="user-bar">(.*?)</g>', chart, re.S)
    assert [bar.count("<rect") for bar in bars] == [4, 2]
    assert "alice: 400 cache reads" in bars[0]


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


def test_aggregation_takes_two_queries_however_many_records_keys_and_payers(
    alice, bob, django_assert_num_queries
):
    for hours in range(60):
        record(
            alice if hours % 2 else bob,
            "gpt-4.1" if hours % 3 else "claude-sonnet-4-6",
            NOW - timedelta(hours=hours),
            key=f"key-{hours % 4}",
            paid_by=["platform", "platform", "user", "project"][hours % 4],
            pre_split=hours > 50,
        )
    with django_assert_num_queries(2):
        summary = usage_summary("30d")
    assert summary.total.requests == 60
    assert summary.total.pre_split_requests == 9
    assert sorted((key.paid_by, key.provider, key.key) for key in summary.by_key) == [
        ("platform", "anthropic", "key-0"),
        ("platform", "anthropic", "key-1"),
        ("platform", "openai", "key-0"),
        ("platform", "openai", "key-1"),
        ("project", "", ""),
        ("user", "", ""),
    ]
    assert [key.paid_by for key in summary.by_key][4:] == ["user", "project"]
    assert [paid_by for paid_by, _label, _totals in summary.by_payer] == [
        "platform",
        "user",
        "project",
    ]


def test_the_page_renders_an_empty_period(client, admin_user):
    client.force_login(admin_user)
    html = client.get(PAGE).content.decode()
    assert "No proxy usage in this period" in html
    assert "<script" not in html.split('id="content-main"')[1]
