"""Usage totals over a period, by model and by user, for `manage.py usage_report`.

Periods start where the admin usage page's do (`usage_stats.PERIODS`: whole UTC hours for
24 h, whole UTC days otherwise), so both show the same totals.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone

from ai_proxy.models import UsageRecord
from ai_proxy.usage_stats import PERIODS


def _totals(rows: Any, key: str, label: str) -> list[dict[str, Any]]:
    return [
        {
            label: row[key],
            "requests": row["requests"],
            "input_tokens": row["input_tokens"] or 0,
            "output_tokens": row["output_tokens"] or 0,
            "cost_usd": str((row["cost_usd"] or Decimal(0)).quantize(Decimal("0.000001"))),
        }
        for row in rows
    ]


def usage_totals(period: str, now: datetime | None = None) -> dict[str, Any]:
    """Requests, tokens and cost per model and per user since the start of the period."""
    since = PERIODS[period].start(now or timezone.now())
    records = UsageRecord.objects.filter(created_at__gte=since).order_by()
    sums = {
        "requests": Count("id"),
        "input_tokens": Sum("input_tokens"),
        "output_tokens": Sum("output_tokens"),
        "cost_usd": Sum("cost_usd"),
    }
    by_model = records.values("model").annotate(**sums).order_by("-cost_usd", "model")
    by_user = (
        records.values("user__username").annotate(**sums).order_by("-cost_usd", "user__username")
    )
    return {
        "period": period,
        "by_model": _totals(by_model, "model", "model"),
        "by_user": _totals(by_user, "user__username", "user"),
    }
