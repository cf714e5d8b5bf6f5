"""Usage totals over a period, by model, user, key and payer, for `manage.py usage_report`.

Periods start where the admin usage page's do (`usage_stats.PERIODS`: whole UTC hours for
24 h, whole UTC days otherwise), and the figures are summed the same way (`usage_stats`), so
both show the same totals. Each row carries the token kinds of SPEC 20.1, the cost, the
cache hit rate and how many of its requests were recorded before the kinds were split.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ai_proxy.models import PaidBy, UsageRecord
from ai_proxy.usage_stats import KINDS, PERIODS, SUMS, Totals, key_totals, payer_totals

MICRO = Decimal("0.000001")


def totals_json(totals: Totals) -> dict[str, Any]:
    """A row of the report: the kinds as recorded, the cost (a string, to the micro-dollar)
    and the cache hit rate (0 to 1, or null without input recorded apart)."""
    rate = totals.cache_hit_rate
    return {
        "requests": totals.requests,
        **{kind: getattr(totals, kind) for kind in KINDS},
        "cost_usd": str(totals.cost_usd.quantize(MICRO)),
        "cache_hit_rate": None if rate is None else round(rate, 4),
        "pre_split_requests": totals.pre_split_requests,
    }


def usage_totals(period: str, now: datetime | None = None) -> dict[str, Any]:
    """Requests, tokens of each kind and cost per model, user, key and payer since the start
    of the period, and in all."""
    since = PERIODS[period].start(now or timezone.now())
    records = UsageRecord.objects.filter(created_at__gte=since).order_by()
    by_model = records.values("model").annotate(**SUMS).order_by("-sum_cost_usd", "model")
    by_user = (
        records.values("user__username")
        .annotate(**SUMS)
        .order_by("-sum_cost_usd", "user__username")
    )
    per_key = records.values("paid_by", "provider", "upstream_key").annotate(**SUMS)
    keys = key_totals((row, Totals.from_row(row)) for row in per_key)
    total = Totals()
    models = []
    for row in by_model:
        totals = Totals.from_row(row)
        total.add(totals)
        models.append({"model": row["model"], **totals_json(totals)})
    return {
        "period": period,
        "by_model": models,
        "by_user": [
            {"user": row["user__username"], **totals_json(Totals.from_row(row))} for row in by_user
        ],
        "by_key": [
            {
                "paid_by": key.paid_by,
                "provider": key.provider or None,
                "key": key.key if key.paid_by == PaidBy.PLATFORM else None,
                **totals_json(key.totals),
            }
            for key in keys
        ],
        "by_payer": [
            {"paid_by": paid_by, **totals_json(totals)}
            for paid_by, _l, totals in payer_totals(keys)
        ],
        "total": totals_json(total),
    }
