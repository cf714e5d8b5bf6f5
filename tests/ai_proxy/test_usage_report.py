import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ai_proxy.models import UsageRecord

pytestmark = pytest.mark.django_db


def usage(
    user,
    model,
    input_tokens,
    output_tokens,
    cost,
    age=timedelta(0),
    *,
    write_5m=0,
    write_1h=0,
    read=0,
    paid_by="platform",
    key="main",
    pre_split=False,
):
    record = UsageRecord.objects.create(
        user=user,
        model=model,
        provider="openai" if model.startswith("gpt") else "anthropic",
        route="messages",
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
    UsageRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - age, pre_split=pre_split
    )


def row(name_key, name, requests, input_tokens, output_tokens, cost, **extra):
    """A row of the JSON report; the kinds not given are zero."""
    return {
        name_key: name,
        "requests": requests,
        "input_tokens": input_tokens,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": 0,
        "output_tokens": output_tokens,
        "cost_usd": cost,
        "cache_hit_rate": 0.0,
        "pre_split_requests": 0,
    } | extra


def report(*args):
    out = StringIO()
    call_command("usage_report", *args, stdout=out)
    return out.getvalue()


def test_the_json_report_totals_by_model_and_by_user(alice, bob):
    usage(alice, "claude-haiku-4-5", 100, 10, "0.000150")
    usage(alice, "claude-haiku-4-5", 50, 5, "0.000075")
    usage(bob, "gpt-4.1", 1000, 100, "0.002800")
    usage(bob, "gpt-4.1", 9999, 9999, "9.000000", age=timedelta(days=2))

    document = json.loads(report("--period", "24h", "--json"))

    assert document["period"] == "24h"
    assert document["by_model"] == [
        row("model", "gpt-4.1", 1, 1000, 100, "0.002800"),
        row("model", "claude-haiku-4-5", 2, 150, 15, "0.000225"),
    ]
    assert document["by_user"] == [
        row("user", "bob", 1, 1000, 100, "0.002800"),
        row("user", "alice", 2, 150, 15, "0.000225"),
    ]
    assert json.loads(report("--period", "7d", "--json"))["by_user"][0]["requests"] == 2


def test_the_json_report_has_each_kind_and_the_cache_hit_rate(alice):
    usage(
        alice, "claude-sonnet-4-6", 200, 300, "0.015200", write_5m=1_000, write_1h=800, read=18_000
    )
    usage(alice, "claude-sonnet-4-6", 100, 100, "0.004900", read=9_900)

    document = json.loads(report("--period", "24h", "--json"))

    expected = row(
        "model",
        "claude-sonnet-4-6",
        2,
        300,
        400,
        "0.020100",
        cache_write_5m_tokens=1_000,
        cache_write_1h_tokens=800,
        cache_read_tokens=27_900,
        cache_hit_rate=0.93,
    )
    assert document["by_model"] == [expected]
    total = dict(expected)
    del total["model"]
    assert document["total"] == total


def test_the_json_report_splits_usage_by_key_and_by_payer(alice, bob):
    usage(alice, "claude-sonnet-4-6", 100, 10, "0.010000", key="main", read=900)
    usage(bob, "claude-sonnet-4-6", 300, 30, "0.030000", key="spare")
    usage(bob, "gpt-4.1", 50, 5, "0.040000", key="main")
    usage(alice, "claude-sonnet-4-6", 1_000, 100, "0.050000", paid_by="user", read=3_000)
    usage(bob, "gpt-4.1", 2_000, 200, "0.060000", paid_by="project")

    document = json.loads(report("--period", "24h", "--json"))

    platform = {"paid_by": "platform"}
    assert document["by_key"] == [
        row("key", "main", 1, 100, 10, "0.010000", cache_read_tokens=900, cache_hit_rate=0.9)
        | platform
        | {"provider": "anthropic"},
        row("key", "spare", 1, 300, 30, "0.030000") | platform | {"provider": "anthropic"},
        row("key", "main", 1, 50, 5, "0.040000") | platform | {"provider": "openai"},
        row("key", None, 1, 1_000, 100, "0.050000", cache_read_tokens=3_000, cache_hit_rate=0.75)
        | {"paid_by": "user", "provider": None},
        row("key", None, 1, 2_000, 200, "0.060000") | {"paid_by": "project", "provider": None},
    ]
    payers = {entry.pop("paid_by"): entry for entry in document["by_payer"]}
    assert list(payers) == ["platform", "user", "project"]
    assert payers["platform"]["requests"] == 3
    assert payers["platform"]["input_tokens"] == 450
    assert payers["platform"]["cache_read_tokens"] == 900
    assert payers["platform"]["cost_usd"] == "0.080000"
    assert payers["platform"]["cache_hit_rate"] == round(900 / 1350, 4)
    assert payers["user"]["cost_usd"] == "0.050000"
    assert document["total"]["requests"] == 5
    assert document["total"]["cost_usd"] == "0.190000"


def test_rows_recorded_before_the_split_are_counted_as_recorded_and_out_of_the_hit_rate(alice):
    usage(alice, "claude-sonnet-4-6", 20_000, 100, "0.062000", key="", pre_split=True)
    usage(alice, "claude-sonnet-4-6", 1_000, 100, "0.010000", read=9_000)

    document = json.loads(report("--period", "24h", "--json"))

    [model] = document["by_model"]
    assert model["input_tokens"] == 21_000
    assert model["cache_read_tokens"] == 9_000
    assert model["pre_split_requests"] == 1
    assert model["cache_hit_rate"] == 0.9
    [pre_split, split] = document["by_key"]  # most tokens first
    assert (pre_split["key"], pre_split["cache_hit_rate"], pre_split["pre_split_requests"]) == (
        "",
        None,
        1,
    )
    assert (split["key"], split["cache_hit_rate"], split["pre_split_requests"]) == ("main", 0.9, 0)
    text = report("--period", "24h")
    assert "1 request recorded before cache tokens were counted apart" in text
    assert "claude-sonnet-4-6 *" in text


def test_the_text_report_is_a_table(alice):
    usage(alice, "claude-haiku-4-5", 100, 10, "0.000150")

    usage(alice, "claude-haiku-4-5", 100, 10, "0.000150", paid_by="user", read=300)

    text = report("--period", "30d")

    assert "Proxy usage, last 30d" in text
    lines = text.splitlines()
    header = lines[lines.index("By model") + 1].split()
    assert header == [
        "model",
        "requests",
        "input",
        "write_5m",
        "write_1h",
        "cache_read",
        "output",
        "cost_usd",
        "cache_hit",
    ]
    assert lines[lines.index("By model") + 2].split() == [
        "claude-haiku-4-5",
        "2",
        "200",
        "0",
        "0",
        "300",
        "20",
        "0.000300",
        "60.0%",
    ]
    assert lines[lines.index("By user") + 2].split()[0] == "alice"
    assert lines[lines.index("By key") + 2].split()[:2] == ["anthropic/main", "1"]
    assert lines[lines.index("By key") + 3].split()[:3] == ["user", "(own", "key)"]
    assert lines[lines.index("By payer") + 2].split()[:2] == ["platform", "1"]
    assert lines[lines.index("By payer") + 3].split()[:2] == ["user", "1"]
    assert "recorded before cache tokens" not in text
