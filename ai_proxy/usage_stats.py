"""Proxy usage over a period, aggregated in the database: per time bucket, model and key, and
per user.

Two queries whatever the traffic: one GROUP BY (bucket, model, payer, key), from which the
chart, the totals by model and the split by key and by payer are summed; one GROUP BY user.
Buckets are UTC hours for the last 24 h and UTC days otherwise; buckets without traffic are
kept (as zeros) so a chart always has one bar group per hour or day of the period.

Usage comes in the token kinds of SPEC 20.1 (uncached input, cache writes, cache reads,
output). Rows recorded before the kinds were split (`pre_split`) hold all their input in
`input_tokens`: they are counted as recorded, counted apart so the page can say so, and left
out of the cache hit rate (their cache reads are not known).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from ai_proxy.models import PaidBy, TokenCounts, UsageRecord

TOP_USERS = 10
# The kinds as the models keep them, in the order the page shows them.
KINDS = (
    "input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "output_tokens",
)
PAYER_ORDER: list[str] = [PaidBy.PLATFORM, PaidBy.USER, PaidBy.PROJECT]


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
    input_tokens: int = 0  # uncached input (all input, for pre-split rows)
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = field(default_factory=Decimal)
    # Of the above, what rows recorded before the kinds were split hold: their requests and
    # their input (cached or not: it is all in input_tokens).
    pre_split_requests: int = 0
    pre_split_input_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def all_input_tokens(self) -> int:
        """Input of every kind: uncached, written to the cache, read from it."""
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    @property
    def tokens(self) -> int:
        return self.all_input_tokens + self.output_tokens

    @property
    def cache_hit_rate(self) -> float | None:
        """Cache reads / (input + cache writes + cache reads), over the rows whose kinds were
        recorded apart; None without such input."""
        split_input = self.all_input_tokens - self.pre_split_input_tokens
        return self.cache_read_tokens / split_input if split_input > 0 else None

    @property
    def cache_hit_percent(self) -> str:
        rate = self.cache_hit_rate
        return "—" if rate is None else f"{rate:.1%}"

    def add(self, other: "Totals") -> None:
        for name in (
            "requests",
            *KINDS,
            "cost_usd",
            "pre_split_requests",
            "pre_split_input_tokens",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Totals":
        """From a row aggregated with `SUMS`."""
        return cls(
            requests=row["requests"] or 0,
            **{kind: row[f"sum_{kind}"] or 0 for kind in KINDS},
            cost_usd=Decimal(row["sum_cost_usd"] or 0),
            pre_split_requests=row["pre_split_requests"] or 0,
            pre_split_input_tokens=row["pre_split_input_tokens"] or 0,
        )

    @classmethod
    def from_counts(cls, counts: TokenCounts, requests: int) -> "Totals":
        """From one row that keeps the kinds (a day's usage, a usage record)."""
        pre_split = counts.pre_split
        return cls(
            requests=requests,
            **{kind: getattr(counts, kind) for kind in KINDS},
            cost_usd=counts.cost_usd,
            pre_split_requests=requests if pre_split else 0,
            pre_split_input_tokens=counts.input_tokens if pre_split else 0,
        )


# Aggregates of usage records into what `Totals.from_row` reads.
SUMS: dict[str, Any] = {
    "requests": Count("id"),
    **{f"sum_{kind}": Sum(kind) for kind in KINDS},
    "sum_cost_usd": Sum("cost_usd"),
    "pre_split_requests": Count("id", filter=Q(pre_split=True)),
    "pre_split_input_tokens": Sum("input_tokens", filter=Q(pre_split=True)),
}
# Every kind of token, for ordering by size in the database.
ALL_TOKENS = (
    F("sum_input_tokens")
    + F("sum_cache_write_5m_tokens")
    + F("sum_cache_write_1h_tokens")
    + F("sum_cache_read_tokens")
    + F("sum_output_tokens")
)


@dataclass
class UserTotals:
    user_id: int
    username: str
    totals: Totals


@dataclass(frozen=True)
class KeyTotals:
    """The usage one key served: a platform key (by its label, never its value), or the
    user's or project's own key."""

    paid_by: str
    provider: str
    key: str
    totals: Totals

    @property
    def payer_label(self) -> str:
        return str(PaidBy(self.paid_by).label) if self.paid_by in PaidBy.values else self.paid_by

    @property
    def label(self) -> str:
        if self.paid_by != PaidBy.PLATFORM:
            return self.payer_label
        return f"{self.provider} · {self.key or 'no label recorded'}"


@dataclass
class UsageSummary:
    period: Period
    buckets: list[date | datetime]
    # bucket → model → totals; every bucket of the period is present.
    by_bucket: dict[date | datetime, dict[str, Totals]]
    by_model: list[tuple[str, Totals]]  # most tokens first
    by_key: list[KeyTotals]  # platform keys first, then own keys; most tokens first
    by_payer: list[tuple[str, str, Totals]]  # (paid_by, its label, totals), platform first
    top_users: list[UserTotals]
    total: Totals


def usage_summary(period_key: str, *, now: datetime | None = None) -> UsageSummary:
    period = PERIODS[period_key]
    now = now or timezone.now()
    buckets = period.bucket_starts(now)
    records = UsageRecord.objects.filter(created_at__gte=period.start(now))
    trunc = TruncHour if period.hourly else TruncDate
    # order_by() drops the model's default ordering, which would otherwise join the GROUP BY.
    per_bucket = (
        records.annotate(bucket=trunc("created_at", tzinfo=UTC))
        .values("bucket", "model", "provider", "paid_by", "upstream_key")
        .annotate(**SUMS)
        .order_by()
    )
    by_bucket: dict[date | datetime, dict[str, Totals]] = {bucket: {} for bucket in buckets}
    by_model: dict[str, Totals] = {}
    keyed: list[tuple[dict[str, Any], Totals]] = []
    total = Totals()
    for row in per_bucket:
        bucket = row["bucket"]
        if isinstance(bucket, datetime):
            bucket = bucket.astimezone(UTC)
        totals = Totals.from_row(row)
        if bucket in by_bucket:
            by_bucket[bucket].setdefault(row["model"], Totals()).add(totals)
        by_model.setdefault(row["model"], Totals()).add(totals)
        keyed.append((row, totals))
        total.add(totals)
    keys = key_totals(keyed)
    return UsageSummary(
        period=period,
        buckets=buckets,
        by_bucket=by_bucket,
        by_model=sorted(by_model.items(), key=lambda item: (-item[1].tokens, item[0])),
        by_key=keys,
        by_payer=payer_totals(keys),
        top_users=_top_users(records),
        total=total,
    )


def key_totals(rows: Iterable[tuple[dict[str, Any], Totals]]) -> list[KeyTotals]:
    """Rows grouped by (paid_by, provider, upstream_key), summed per key: one per platform
    key, one per payer for own keys (which of the users' keys served is theirs to know).
    Platform keys first, then own keys; most tokens first."""
    merged: dict[tuple[str, str, str], Totals] = {}
    for row, totals in rows:
        if row["paid_by"] == PaidBy.PLATFORM:
            key = (row["paid_by"], row["provider"], row["upstream_key"])
        else:
            key = (row["paid_by"], "", "")
        merged.setdefault(key, Totals()).add(totals)
    keys = [KeyTotals(*key, totals=totals) for key, totals in merged.items()]
    return sorted(keys, key=_key_order)


def _payer_rank(paid_by: str) -> int:
    return PAYER_ORDER.index(paid_by) if paid_by in PAYER_ORDER else len(PAYER_ORDER)


def _key_order(key: KeyTotals) -> tuple[int, int, str, str]:
    return _payer_rank(key.paid_by), -key.totals.tokens, key.provider, key.key


def payer_totals(keys: list[KeyTotals]) -> list[tuple[str, str, Totals]]:
    """The keys' usage summed by payer, the platform first."""
    payers: dict[str, tuple[str, Totals]] = {}
    for key in keys:
        payers.setdefault(key.paid_by, (key.payer_label, Totals()))[1].add(key.totals)
    ordered = sorted(payers.items(), key=lambda item: _payer_rank(item[0]))
    return [(paid_by, label, totals) for paid_by, (label, totals) in ordered]


def _top_users(records: Any) -> list[UserTotals]:
    rows = (
        records.values("user_id", "user__username")
        .annotate(**SUMS)
        .annotate(tokens=ALL_TOKENS)
        .order_by("-tokens", "user__username")[:TOP_USERS]
    )
    return [
        UserTotals(
            user_id=row["user_id"], username=row["user__username"], totals=Totals.from_row(row)
        )
        for row in rows
    ]
