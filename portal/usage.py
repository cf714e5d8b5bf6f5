"""The agents page's "Today" panel: what the platform AI served the user today (UTC) against
each daily limit in force, and what the user's own keys served, apart.

Two queries: the proxy's own read of the user's limit overrides and the platform's figures
for the day (`ai_proxy.limits.user_day`, so the bars show exactly what the budget check
sees), and the day's rows of every payer (cache reads, requests, own keys). The proxy
settings come from the configuration snapshot the page already reads.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ai_proxy.limits import Limits, UserDay, effective_limits, seconds_to_midnight, user_day
from ai_proxy.models import DailyUsage, PaidBy
from ai_proxy.usage_stats import Totals
from catalog.config import stored_config

# Where a bar turns from "fine" to "nearly there" (the colour only: the text says the percent).
NEARLY = Decimal("0.8")
OWN_KEY_WORDS = {PaidBy.USER: "On your own keys", PaidBy.PROJECT: "On your projects' keys"}


@dataclass(frozen=True)
class Meter:
    """One daily limit: how much of it today's platform usage has used."""

    name: str  # "input_tokens", "output_tokens", "cost_usd": the limit it measures
    label: str
    used: int | Decimal
    limit: int | Decimal | None  # None: no limit of this kind
    hint: str = ""  # what it counts, when the label alone does not say

    @property
    def money(self) -> bool:
        return isinstance(self.used, Decimal)

    def _shown(self, value: int | Decimal) -> str:
        return f"USD {value:,.2f}" if self.money else f"{value:,} tokens"

    @property
    def percent(self) -> int | None:
        if self.limit is None:
            return None
        if not self.limit:
            return 100  # a limit of zero: nothing is served
        return int(Decimal(self.used) * 100 / Decimal(self.limit))

    @property
    def reached(self) -> bool:
        """The proxy refuses platform requests from here on (used ≥ limit, SPEC 10)."""
        return self.limit is not None and self.used >= self.limit

    @property
    def text(self) -> str:
        if self.limit is None:
            return f"{self._shown(self.used)} (no daily limit)"
        return f"{self._shown(self.used)} of {self._shown(self.limit)} ({self.percent}%)"

    # The <meter> element's attributes: plain numbers, the value held within the range.
    @property
    def meter_max(self) -> str:
        return _plain(self.limit or 0)

    @property
    def meter_value(self) -> str:
        return _plain(min(self.used, self.limit or 0))

    @property
    def meter_nearly(self) -> str:
        return _plain(Decimal(self.limit or 0) * NEARLY)


def _plain(number: int | Decimal) -> str:
    """A number as HTML attributes take it: digits and a point, never an exponent."""
    return str(number) if isinstance(number, int) else f"{number:f}"


@dataclass(frozen=True)
class OwnKeyUsage:
    paid_by: str
    words: str
    totals: Totals


@dataclass(frozen=True)
class UsageToday:
    day: date
    limits: Limits
    platform: Totals  # what the platform paid for today, every kind
    meters: list[Meter]
    own_keys: list[OwnKeyUsage]  # the user's and projects' keys, when they served anything
    resets_in_seconds: int

    @property
    def resets_in(self) -> str:
        hours, minutes = divmod(max(self.resets_in_seconds // 60, 1), 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _meters(day: UserDay, limits: Limits) -> list[Meter]:
    return [
        Meter(
            "input_tokens",
            "Input tokens",
            day.input_tokens,
            limits.daily_input_tokens,
            hint="uncached input and cache writes; cache reads do not count",
        ),
        Meter("output_tokens", "Output tokens", day.output_tokens, limits.daily_output_tokens),
        Meter(
            "cost_usd",
            "Spend",
            day.cost_usd,
            limits.daily_cost_cap_usd,
            hint="every kind at the catalog's prices, cache reads included",
        ),
    ]


def usage_today(*, user: Any, now: datetime | None = None) -> UsageToday:
    """Only `user`'s rows are read: the panel is theirs alone."""
    now = now or timezone.now()
    user_id = user.pk
    day = user_day(user_id, now)
    limits = effective_limits(stored_config(), day)
    totals = {
        row.paid_by: Totals.from_counts(row, row.requests)
        for row in DailyUsage.objects.filter(user_id=user_id, day=now.date())
    }
    platform = totals.get(PaidBy.PLATFORM, Totals())
    own_keys = [
        OwnKeyUsage(paid_by, words, totals[paid_by])
        for paid_by, words in OWN_KEY_WORDS.items()
        if paid_by in totals and totals[paid_by].requests
    ]
    return UsageToday(
        day=now.date(),
        limits=limits,
        platform=platform,
        meters=_meters(day, limits),
        own_keys=own_keys,
        resets_in_seconds=seconds_to_midnight(now),
    )
