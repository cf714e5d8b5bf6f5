"""The proxy's limits per user: requests per minute, and daily tokens and spend.

Which limit is in force: a per-user override, else the admin's proxy settings, else the
environment (`AI_PROXY_RATE_LIMIT_RPM`, `AI_PROXY_DAILY_*`). A request is refused once the
recorded usage has reached a limit (used ≥ limit): one below is still served, so a single
request can overshoot by its own size. Rate counters are shared state (`ai_proxy.shared`: one
fixed window per user and minute, incremented atomically — in Redis, for every worker);
budgets are read from the database (`DailyUsage`, per UTC day).
"""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections
from django.utils import timezone

from ai_proxy import db
from ai_proxy.errors import LimitReached
from ai_proxy.models import DailyUsage, UserProxyLimit
from ai_proxy.shared import shared_state
from catalog.config import StoredConfig
from workspaces.tokens import LiveToken

WINDOW_SECONDS = 60
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int
    daily_input_tokens: int
    daily_output_tokens: int
    daily_cost_cap_usd: Decimal | None


@dataclass(frozen=True)
class UserDay:
    """A user's limit overrides and the usage recorded for them today (see `user_day_sql`)."""

    override_rpm: int | None = None
    override_input: int | None = None
    override_output: int | None = None
    override_cost: Decimal | None = None
    input_tokens: int = 0
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


def _first(*values: T | None) -> T:
    return next(value for value in values if value is not None)


def effective_limits(config: StoredConfig, day: UserDay) -> Limits:
    cost_caps = (day.override_cost, config.daily_cost_cap_usd, settings.AI_PROXY_DAILY_COST_CAP_USD)
    return Limits(
        requests_per_minute=_first(
            day.override_rpm, config.rate_limit_rpm, settings.AI_PROXY_RATE_LIMIT_RPM
        ),
        daily_input_tokens=_first(
            day.override_input, config.daily_input_tokens, settings.AI_PROXY_DAILY_INPUT_TOKENS
        ),
        daily_output_tokens=_first(
            day.override_output, config.daily_output_tokens, settings.AI_PROXY_DAILY_OUTPUT_TOKENS
        ),
        daily_cost_cap_usd=next((cap for cap in cost_caps if cap is not None), None),
    )


@functools.cache
def user_day_sql(alias: str) -> str:
    """A user's overrides and today's usage in one prepared query (see `user_day_params`),
    written once like the token lookup: the proxy runs it on every request."""
    quote = connections[alias].ops.quote_name
    usage, limits = quote(DailyUsage._meta.db_table), quote(UserProxyLimit._meta.db_table)
    user_id, day = quote("user_id"), quote("day")
    override = ["rate_limit_rpm", "daily_input_tokens", "daily_output_tokens", "daily_cost_cap_usd"]
    columns = [f"l.{quote(name)}" for name in override]
    columns += [f"d.{quote(name)}" for name in ("input_tokens", "output_tokens", "cost_usd")]
    # Only quoted table and column names from the models go into the text. Both outer joins
    # hang off a one-row select, so a user with neither row still gets one row back.
    return (
        f"SELECT {', '.join(columns)} FROM (SELECT 1 AS one) u "  # noqa: S608
        f"LEFT JOIN {usage} d ON d.{user_id} = %s AND d.{day} = %s "
        f"LEFT JOIN {limits} l ON l.{user_id} = %s"
    )


def user_day_params(user_id: int, now: datetime) -> list[Any]:
    return [user_id, now.date(), user_id]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def user_day_from_row(row: Any) -> UserDay:
    rpm, input_cap, output_cap, cost_cap, used_input, used_output, used_cost = row
    return UserDay(
        override_rpm=rpm,
        override_input=input_cap,
        override_output=output_cap,
        override_cost=_decimal(cost_cap),
        input_tokens=used_input or 0,
        output_tokens=used_output or 0,
        cost_usd=_decimal(used_cost) or Decimal(0),
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


async def count_request(user_id: int, limit: int, now: datetime) -> RateWindow:
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


async def enforce_limits(
    token: LiveToken, config: StoredConfig, *, budgets: bool = True
) -> RateWindow:
    """The rate limit, then (unless `budgets` is off: the request costs the platform
    nothing) the daily budgets, of the token's user; raises `LimitReached`. Returns the
    rate window, for the `X-RateLimit-*` headers of the answer."""
    now = timezone.now()
    user_id = token.user_id
    alias = DailyUsage.objects.db
    row = await db.fetch_one(user_day_sql(alias), user_day_params(user_id, now), alias)
    day = user_day_from_row(row)
    limits = effective_limits(config, day)
    window = await count_request(user_id, limits.requests_per_minute, now)
    if budgets:
        check_budget(day, limits, now)
    return window
