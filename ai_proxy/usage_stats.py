"""Proxy usage over a period, aggregated in the database: per time bucket and model, per user.

Two queries whatever the traffic: one GROUP BY (bucket, model), one GROUP BY user. Buckets
are UTC hours for the last 24 h and UTC days otherwise; buckets without traffic are kept (as
zeros) so a chart always has one bar group per hour or day of the period.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from ai_proxy.models import UsageRecord

TOP_USERS = 10


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    buckets: int
    hourly: bool

    def bucket_starts(self, now: datetime) -> list[date | datetime]:
        """The buckets of the period ending now, oldest first."""
        now = now.astimezone(UTC)
        if self.hourly:
            last_hour = now.replace(minute=0, second=0, microsecond=0)
            return [last_hour - timedelta(hours=n) for n in reversed(range(self.buckets))]
        today = now.date()
        return [today - timedelta(days=n) for n in reversed(range(self.buckets))]

    def start(self, now: datetime) -> datetime:
        first = self.bucket_starts(now)[0]
        if isinstance(first, datetime):
            return first
        return datetime(first.year, first.month, first.day, tzinfo=UTC)


PERIODS = {
    period.key: period
    for period in (
        Period("24h", "Last 24 hours", buckets=24, hourly=True),
        Period("7d", "Last 7 days", buckets=7, hourly=False),
        Period("30d", "Last 30 days", buckets=30, hourly=False),
    )
}
DEFAULT_PERIOD = "7d"


@dataclass
class Totals:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = field(default_factory=Decimal)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: "Totals") -> None:
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Totals":
        return cls(
            requests=row["requests"] or 0,
            input_tokens=row["input"] or 0,
            output_tokens=row["output"] or 0,
            cost_usd=Decimal(row["cost"] or 0),
        )


@dataclass
class UserTotals:
    user_id: int
    username: str
    totals: Totals


@dataclass
class UsageSummary:
    period: Period
    buckets: list[date | datetime]
    # bucket → model → totals; every bucket of the period is present.
    by_bucket: dict[date | datetime, dict[str, Totals]]
    by_model: list[tuple[str, Totals]]  # most tokens first
    top_users: list[UserTotals]
    total: Totals


_SUMS = {
    "requests": Count("id"),
    "input": Sum("input_tokens"),
    "output": Sum("output_tokens"),
    "cost": Sum("cost_usd"),
}


def usage_summary(period_key: str, *, now: datetime | None = None) -> UsageSummary:
    period = PERIODS[period_key]
    now = now or timezone.now()
    buckets = period.bucket_starts(now)
    records = UsageRecord.objects.filter(created_at__gte=period.start(now))
    trunc = TruncHour if period.hourly else TruncDate
    # order_by() drops the model's default ordering, which would otherwise join the GROUP BY.
    per_bucket = (
        records.annotate(bucket=trunc("created_at", tzinfo=UTC))
        .values("bucket", "model")
        .annotate(**_SUMS)
        .order_by()
    )
    by_bucket: dict[date | datetime, dict[str, Totals]] = {bucket: {} for bucket in buckets}
    by_model: dict[str, Totals] = {}
    total = Totals()
    for row in per_bucket:
        bucket = row["bucket"]
        if isinstance(bucket, datetime):
            bucket = bucket.astimezone(UTC)
        totals = Totals.from_row(row)
        if bucket in by_bucket:
            by_bucket[bucket][row["model"]] = totals
        by_model.setdefault(row["model"], Totals()).add(totals)
        total.add(totals)
    return UsageSummary(
        period=period,
        buckets=buckets,
        by_bucket=by_bucket,
        by_model=sorted(by_model.items(), key=lambda item: (-item[1].tokens, item[0])),
        top_users=_top_users(records),
        total=total,
    )


def _top_users(records: Any) -> list[UserTotals]:
    rows = (
        records.values("user_id", "user__username")
        .annotate(**_SUMS)
        .annotate(tokens=F("input") + F("output"))
        .order_by("-tokens", "user__username")[:TOP_USERS]
    )
    return [
        UserTotals(
            user_id=row["user_id"], username=row["user__username"], totals=Totals.from_row(row)
        )
        for row in rows
    ]
