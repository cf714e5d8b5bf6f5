import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ai_proxy.models import UsageRecord

pytestmark = pytest.mark.django_db


def usage(user, model, input_tokens, output_tokens, cost, age=timedelta(0)):
    record = UsageRecord.objects.create(
        user=user,
        model=model,
        provider="anthropic",
        route="messages",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=Decimal(cost),
        status=200,
    )
    UsageRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)


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

    assert document == {
        "period": "24h",
        "by_model": [
            {
                "model": "gpt-4.1",
                "requests": 1,
                "input_tokens": 1000,
                "output_tokens": 100,
                "cost_usd": "0.002800",
            },
            {
                "model": "claude-haiku-4-5",
                "requests": 2,
                "input_tokens": 150,
                "output_tokens": 15,
                "cost_usd": "0.000225",
            },
        ],
        "by_user": [
            {
                "user": "bob",
                "requests": 1,
                "input_tokens": 1000,
                "output_tokens": 100,
                "cost_usd": "0.002800",
            },
            {
                "user": "alice",
                "requests": 2,
                "input_tokens": 150,
                "output_tokens": 15,
                "cost_usd": "0.000225",
            },
        ],
    }
    assert json.loads(report("--period", "7d", "--json"))["by_user"][0]["requests"] == 2


def test_the_text_report_is_a_table(alice):
    usage(alice, "claude-haiku-4-5", 100, 10, "0.000150")

    text = report("--period", "30d")

    assert "Proxy usage, last 30d" in text
    assert "claude-haiku-4-5" in text
    assert "alice" in text
