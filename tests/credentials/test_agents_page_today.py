"""The agents page's Today panel: the user's platform usage today against each daily limit in
force, the cache hit rate, and what their own keys served, apart (SPEC 20.1, 22.1)."""

import html
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import time_machine

from ai_proxy.models import DailyUsage, UserProxyLimit
from catalog.models import ProxySettings
from portal.usage import usage_today
from tests.ai_proxy.live_proxy import LiveProxy
from tests.fakes.upstream import Reply
from tests.test_content_security_policy import assert_policed_page
from workspaces.models import TokenKind
from workspaces.tokens import token_mint

pytestmark = pytest.mark.django_db

PAGE = "/settings/agents/"
NOW = datetime(2026, 11, 30, 18, 45, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def day_usage(user, paid_by="platform", day=TODAY, requests=1, cost="0", **kinds):
    return DailyUsage.objects.create(
        user=user, day=day, paid_by=paid_by, requests=requests, cost_usd=Decimal(cost), **kinds
    )


def panel(response) -> str:
    """The panel's HTML, its white space collapsed and its entities decoded."""
    page = response.content.decode()
    start = page.index('<section class="card today"')
    return html.unescape(" ".join(page[start : page.index("</section>", start)].split()))


def meters(response) -> dict[str, dict[str, str]]:
    """limit name → its text and its <meter>'s attributes (empty without a bar)."""
    found = {}
    rows = re.findall(
        r'<li class="meter-row[^"]*" data-limit="([^"]+)">(.*?)</li>', panel(response)
    )
    for name, body in rows:
        text = re.search(r'class="meter-text"[^>]*>([^<]+)<', body)
        bar = re.search(r"<meter ([^>]*)>", body)
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', bar.group(1))) if bar else {}
        found[name] = {"text": text.group(1) if text else "", **attributes}
    return found


@pytest.fixture
def alice_client(client, alice, frozen_clock):
    client.force_login(alice)
    return client


def test_the_panel_shows_todays_platform_usage_against_each_limit_as_a_bar(alice_client, alice):
    UserProxyLimit.objects.create(
        user=alice,
        daily_input_tokens=100_000,
        daily_output_tokens=50_000,
        daily_cost_cap_usd=Decimal("5.00"),
        rate_limit_rpm=12,
        max_parallel_requests=3,
    )
    day_usage(
        alice,
        requests=30,
        cost="1.25",
        input_tokens=40_000,
        cache_write_5m_tokens=8_000,
        cache_write_1h_tokens=2_000,
        cache_read_tokens=450_000,
        output_tokens=12_000,
    )

    response = alice_client.get(PAGE)

    assert response.status_code == 200
    found = meters(response)
    # The input budget counts uncached input and cache writes, not cache reads.
    assert found["input_tokens"]["text"] == "50,000 tokens of 100,000 tokens (50%)"
    assert (found["input_tokens"]["value"], found["input_tokens"]["max"]) == ("50000", "100000")
    assert found["output_tokens"]["text"] == "12,000 tokens of 50,000 tokens (24%)"
    assert (found["output_tokens"]["value"], found["output_tokens"]["max"]) == ("12000", "50000")
    assert found["cost_usd"]["text"] == "USD 1.25 of USD 5.00 (25%)"
    cost = found["cost_usd"]
    assert (Decimal(cost["value"]), Decimal(cost["max"])) == (Decimal("1.25"), Decimal(5))
    text = panel(response)
    assert "30 requests today" in text
    assert "cache hit rate 90.0%" in text  # 450,000 / (40,000 + 10,000 + 450,000)
    assert "At most 12 requests a minute and 3 at once, on any key." in text
    assert "resets at 00:00 UTC, in 5 h 15 min" in text
    assert "Limit reached" not in text
    assert "own keys" not in text
    assert_policed_page(response)


def test_the_bars_use_the_proxy_settings_limits_without_an_override(alice_client, alice):
    ProxySettings(daily_input_tokens=1_000_000, daily_output_tokens=400_000).save()
    day_usage(alice, input_tokens=250_000, output_tokens=100_000, cost="2.50")

    found = meters(alice_client.get(PAGE))

    assert found["input_tokens"]["text"] == "250,000 tokens of 1,000,000 tokens (25%)"
    assert found["output_tokens"]["text"] == "100,000 tokens of 400,000 tokens (25%)"
    assert found["cost_usd"]["text"] == "USD 2.50 of USD 10.00 (25%)"  # the default cap


def test_a_reached_limit_is_said_in_words_and_the_bar_is_full(alice_client, alice):
    UserProxyLimit.objects.create(user=alice, daily_output_tokens=1_000)
    day_usage(alice, input_tokens=10, output_tokens=1_250)

    response = alice_client.get(PAGE)

    output = meters(response)["output_tokens"]
    assert output["text"] == "1,250 tokens of 1,000 tokens (125%)"
    assert (output["value"], output["max"]) == ("1000", "1000")
    assert "Limit reached: the platform AI refuses your requests until 00:00 UTC." in panel(
        response
    )


def test_without_a_cost_cap_spend_is_a_figure_without_a_bar(alice_client, alice, settings):
    settings.AI_PROXY_DAILY_COST_CAP_USD = None
    day_usage(alice, input_tokens=10, output_tokens=10, cost="0.42")

    cost = meters(alice_client.get(PAGE))["cost_usd"]

    assert cost == {"text": "USD 0.42 (no daily limit)"}


def test_own_key_usage_is_shown_apart_and_not_on_the_bars(alice_client, alice):
    day_usage(alice, input_tokens=1_000, output_tokens=100, cost="0.10")
    day_usage(
        alice,
        "user",
        requests=4,
        cost="0.75",
        input_tokens=2_000,
        cache_read_tokens=18_000,
        output_tokens=500,
    )
    day_usage(alice, "project", requests=1, cost="0.05", input_tokens=300, output_tokens=30)

    response = alice_client.get(PAGE)

    found = meters(response)
    assert found["input_tokens"]["text"].startswith("1,000 tokens of ")
    assert found["output_tokens"]["text"].startswith("100 tokens of ")
    assert found["cost_usd"]["text"].startswith("USD 0.10 of ")
    text = panel(response)
    assert (
        "On your own keys: 20,500 tokens, USD 0.75, 4 requests: "
        "not counted against the platform's limits."
    ) in text
    assert "On your projects' keys: 330 tokens, USD 0.05, 1 request: " in text
    assert "1 request today" in text


def test_another_users_usage_never_shows(client, alice, bob, frozen_clock):
    day_usage(bob, requests=77, cost="7.77", input_tokens=313_131, output_tokens=42_424)
    day_usage(bob, "user", requests=9, cost="3.33", input_tokens=909_090)
    day_usage(alice, requests=2, cost="0.02", input_tokens=1_000, output_tokens=20)
    client.force_login(alice)

    response = client.get(PAGE)

    found = meters(response)
    assert found["input_tokens"]["text"].startswith("1,000 tokens of ")
    assert found["output_tokens"]["text"].startswith("20 tokens of ")
    assert found["cost_usd"]["text"].startswith("USD 0.02 of ")
    page = response.content.decode()
    for figure in ("313,131", "42,424", "7.77", "909,090", "3.33", "77 requests"):
        assert figure not in page
    assert "own keys" not in panel(response)
    client.force_login(bob)
    assert meters(client.get(PAGE))["input_tokens"]["text"].startswith("313,131 tokens of ")


def test_yesterdays_usage_is_not_todays(alice_client, alice):
    day_usage(alice, day=TODAY - timedelta(days=1), input_tokens=5_000, output_tokens=500)

    response = alice_client.get(PAGE)

    assert meters(response)["input_tokens"]["text"].startswith("0 tokens of ")
    assert "0 requests today" in panel(response)
    assert "cache hit rate — (no input yet)" in panel(response)


def test_a_day_row_recorded_before_the_split_is_flagged(alice_client, alice):
    day_usage(alice, input_tokens=20_000, output_tokens=100)
    DailyUsage.objects.update(pre_split=True)

    text = panel(alice_client.get(PAGE))

    assert "recorded before cache tokens were counted apart: their input includes" in text


def test_the_panel_takes_two_queries(alice, bob, django_assert_num_queries, frozen_clock):
    UserProxyLimit.objects.create(user=alice, daily_input_tokens=100)
    for paid_by in ("platform", "user", "project"):
        day_usage(alice, paid_by, input_tokens=10)
        day_usage(bob, paid_by, input_tokens=10)
    usage_today(user=alice)  # the proxy configuration, cached as the page has it

    with django_assert_num_queries(2):
        today = usage_today(user=alice)

    assert today.day == date(2026, 11, 30)
    assert [own.paid_by for own in today.own_keys] == ["user", "project"]
    assert today.limits.daily_input_tokens == 100


def test_usage_through_the_live_proxy_shows_on_the_page(
    live_url, proxy_upstream, ws, client, alice
):
    _row, token = token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)
    proxy = LiveProxy(base=f"{live_url}/ai", token=token, upstream=proxy_upstream)
    proxy.upstream.answer_next(
        Reply(input_tokens=100, cache_write=400, cache_read=1_500, output_tokens=50)
    )
    response = httpx.post(
        f"{proxy.base}/anthropic/v1/messages",
        json={
            "model": "claude-sonnet-4-6",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}],
        },
        headers={"Authorization": f"Bearer {proxy.token}"},
        timeout=30,
    )
    assert response.status_code == 200
    client.force_login(alice)

    page = client.get(PAGE)

    assert meters(page)["input_tokens"]["text"].startswith("500 tokens of ")
    assert meters(page)["output_tokens"]["text"].startswith("50 tokens of ")
    assert "cache hit rate 75.0%" in panel(page)  # 1,500 / 2,000
