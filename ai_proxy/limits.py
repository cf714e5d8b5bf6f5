"""The proxy's limits per user: requests per minute, requests in flight, and daily tokens
and spend.

Which limit is in force: a per-user override, else the admin's proxy settings, else the
environment (`AI_PROXY_RATE_LIMIT_RPM`, `AI_PROXY_MAX_PARALLEL_REQUESTS`,
`AI_PROXY_DAILY_*`). A request is refused once the recorded usage has reached a limit
(used ≥ limit): one below is still served, so a request can overshoot by its own size, and
with the cap on requests in flight a budget's overshoot is at most the requests in flight
when it was reached (SPEC 20.3). The daily input budget counts uncached input and cache
writes; cache reads are priced (the cost cap covers them) but do not count against it
(SPEC 20.1). The daily budgets are the platform's: traffic on a user's own key does not
count against them, the rate limit and the cap in flight do apply to it (SPEC 22.1).

Rate windows and in-flight slots are shared state (`ai_proxy.shared`: in Redis, for every
worker); budgets are read from the database (`DailyUsage`, per UTC day).
"""

import functools
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections
from django.utils import timezone

from ai_proxy import db
from ai_proxy.errors import LimitReached
from ai_proxy.models import DailyUsage, PaidBy, UserProxyLimit
from ai_proxy.shared import shared_state
from catalog.config import StoredConfig
from workspaces.tokens import LiveToken

WINDOW_SECONDS = 60
T = TypeVar("T")
_OVERRIDES = (
    "rate_limit_rpm",
    "max_parallel_requests",
    "daily_input_tokens",
    "daily_output_tokens",
    "daily_cost_cap_usd",
)
_USED = (
    "input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "cost_usd",
)


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int
    max_parallel_requests: int
    daily_input_tokens: int
    daily_output_tokens: int
    daily_cost_cap_usd: Decimal | None


@dataclass(frozen=True)
class UserDay:
    """A user's limit overrides and what the platform paid for them today (`user_day_sql`)."""

    overrides: dict[str, Any]
    input_tokens: int = 0  # uncached input and cache writes: what the input budget counts
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)


@dataclass(frozen=True)
class RateWindow:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }


def slot_seconds() -> float:
    """How long a slot is held without news: a request that has not ended by then (its
    worker died) loses it. Twice the read timeout; a long stream extends it as it goes."""
    return 2 * float(settings.AI_PROXY_READ_TIMEOUT)


@dataclass
class Slot:
    """One of a user's requests in flight; released when the request ends, however it ends."""

    key: str
    member: str
    renew_at: float = 0.0  # when half of the slot's time has gone

    async def release(self) -> None:
        await shared_state.release(self.key, self.member)

    async def keep(self) -> None:
        """Extend the slot once half of its time has gone (called for every chunk of a
        stream, so the usual case is one clock read)."""
        now = time.monotonic()
        if now < self.renew_at:
            return
        seconds = slot_seconds()
        self.renew_at = now + seconds / 2
        await shared_state.extend(self.key, self.member, seconds)


def _first(*values: T | None) -> T:
    return next(value for value in values if value is not None)


def effective_limits(config: StoredConfig, day: UserDay) -> Limits:
    user = day.overrides
    cost_caps = (
        user.get("daily_cost_cap_usd"),
        config.daily_cost_cap_usd,
        settings.AI_PROXY_DAILY_COST_CAP_USD,
    )
    return Limits(
        requests_per_minute=_first(
            user.get("rate_limit_rpm"), config.rate_limit_rpm, settings.AI_PROXY_RATE_LIMIT_RPM
        ),
        max_parallel_requests=_first(
            user.get("max_parallel_requests"),
            config.max_parallel_requests,
            settings.AI_PROXY_MAX_PARALLEL_REQUESTS,
        ),
        daily_input_tokens=_first(
            user.get("daily_input_tokens"),
            config.daily_input_tokens,
            settings.AI_PROXY_DAILY_INPUT_TOKENS,
        ),
        daily_output_tokens=_first(
            user.get("daily_output_tokens"),
            config.daily_output_tokens,
            settings.AI_PROXY_DAILY_OUTPUT_TOKENS,
        ),
        daily_cost_cap_usd=next((cap for cap in cost_caps if cap is not None), None),
    )


@functools.cache
def user_day_sql(alias: str) -> str:
    """A user's overrides and what the platform paid for them today, in one prepared query
    (see `user_day_params`; `ai_proxy.db` for why not the ORM)."""
    quote = connections[alias].ops.quote_name
    usage, limits = quote(DailyUsage._meta.db_table), quote(UserProxyLimit._meta.db_table)
    user_id, day, paid_by = quote("user_id"), quote("day"), quote("paid_by")
    columns = [f"l.{quote(name)}" for name in _OVERRIDES]
    columns += [f"d.{quote(name)}" for name in _USED]
    # Only quoted table and column names from the models go into the text. Both outer joins
    # hang off a one-row select, so a user with neither row still gets one row back.
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT 1 AS one) u "  # noqa: S608
        f"LEFT JOIN {usage} d ON d.{user_id} = %s AND d.{day} = %s AND d.{paid_by} = %s "
        f"LEFT JOIN {limits} l ON l.{user_id} = %s"
    )


def user_day_params(user_id: int, now: datetime) -> list[Any]:
    return [user_id, now.date(), PaidBy.PLATFORM, user_id]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def user_day_from_row(row: Any) -> UserDay:
    overrides = dict(zip(_OVERRIDES, row[: len(_OVERRIDES)], strict=True))
    overrides["daily_cost_cap_usd"] = _decimal(overrides["daily_cost_cap_usd"])
    used = dict(zip(_USED, row[len(_OVERRIDES) :], strict=True))
    return UserDay(
        overrides=overrides,
        input_tokens=sum(used[name] or 0 for name in _USED[:3]),
        output_tokens=used["output_tokens"] or 0,
        cost_usd=_decimal(used["cost_usd"]) or Decimal(0),
    )


def user_day(user_id: int, now: datetime) -> UserDay:
    """`user_day_sql` through Django's connection (for code that is not on the hot path)."""
    alias = DailyUsage.objects.db
    with connections[alias].cursor() as cursor:
        cursor.execute(user_day_sql(alias), user_day_params(user_id, now))
        return user_day_from_row(cursor.fetchone())


def seconds_to_midnight(now: datetime) -> int:
    return max(1, int((next_midnight(now) - now).total_seconds() + 0.999))


def next_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


async def count_request(*, user_id: int, limit: int, now: datetime) -> RateWindow:
    """Count one request in this minute's window; raises `LimitReached` past the limit."""
    epoch = int(now.timestamp())
    window_start = epoch - epoch % WINDOW_SECONDS
    reset = window_start + WINDOW_SECONDS - epoch
    count = await shared_state.count(f"rpm:{user_id}:{window_start}", WINDOW_SECONDS * 2)
    window = RateWindow(limit=limit, remaining=max(0, limit - count), reset_seconds=reset)
    if count > limit:
        raise LimitReached(
            f"Rate limit reached: {limit} requests per minute. Try again in {reset} seconds.",
            code="rate_limit_exceeded",
            retry_after=reset,
            used=count - 1,
            limit=limit,
            headers=window.headers(),
            limit_name="requests_per_minute",
        )
    return window


async def take_slot(*, user_id: int, limit: int) -> Slot:
    """One of the user's `limit` slots for requests in flight; raises `LimitReached`."""
    slot = Slot(f"inflight:{user_id}", uuid.uuid4().hex, time.monotonic() + slot_seconds() / 2)
    if not await shared_state.acquire(slot.key, slot.member, limit, slot_seconds()):
        raise LimitReached(
            f"Too many requests in flight: at most {limit} at once. Try again when one ends.",
            code="too_many_parallel_requests",
            retry_after=1,
            limit=limit,
            limit_name="max_parallel_requests",
        )
    return slot


def check_budget(day: UserDay, limits: Limits, now: datetime) -> None:
    """Refuse once today's recorded usage has reached a daily limit (resets at 00:00 UTC)."""
    budgets: list[tuple[str, str, int | Decimal, int | Decimal | None]] = [
        ("daily_input_tokens", "input tokens", day.input_tokens, limits.daily_input_tokens),
        ("daily_output_tokens", "output tokens", day.output_tokens, limits.daily_output_tokens),
        ("daily_cost_cap_usd", "spend (USD)", day.cost_usd, limits.daily_cost_cap_usd),
    ]
    for name, label, used, limit in budgets:
        if limit is None or used < limit:
            continue
        shown_used = used if isinstance(used, int) else f"{used:.2f}"
        shown_limit = limit if isinstance(limit, int) else f"{limit:.2f}"
        raise LimitReached(
            f"Daily {label} budget reached ({shown_used} of {shown_limit}). "
            "It resets at 00:00 UTC.",
            code="daily_budget_exceeded",
            retry_after=seconds_to_midnight(now),
            used=shown_used,
            limit=shown_limit,
            limit_name=name,
            resets_at=next_midnight(now).isoformat(),
        )


@dataclass(frozen=True)
class Admission:
    window: RateWindow
    slot: Slot | None


async def enforce_limits(
    token: LiveToken, config: StoredConfig, *, budgets: bool = True, in_flight: bool = True
) -> Admission:
    """The token's user's rate limit, then (with `budgets`: the platform pays for the
    request) the daily budgets, then (with `in_flight`) a slot among the requests in flight;
    raises `LimitReached`. The rate window is for the answer's `X-RateLimit-*` headers."""
    now = timezone.now()
    alias = DailyUsage.objects.db
    row = await db.fetch_one(user_day_sql(alias), user_day_params(token.user_id, now), alias)
    day = user_day_from_row(row)
    limits = effective_limits(config, day)
    window = await count_request(user_id=token.user_id, limit=limits.requests_per_minute, now=now)
    if budgets:
        check_budget(day, limits, now)
    slot = None
    if in_flight:
        slot = await take_slot(user_id=token.user_id, limit=limits.max_parallel_requests)
    return Admission(window=window, slot=slot)
