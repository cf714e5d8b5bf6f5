"""The proxy's limits per user: requests per minute, and daily tokens and spend.

Which limit is in force: a per-user override, else the admin's proxy settings, else the
environment (`AI_PROXY_RATE_LIMIT_RPM`, `AI_PROXY_DAILY_*`). A request is refused once the
recorded usage has reached a limit (used ≥ limit): one below is still served, so a single
request can overshoot by its own size. Rate counters live in the Django cache (one fixed
window per user and minute, incremented atomically — Redis when `REDIS_URL` is set); budgets
are read from the database (`DailyUsage`, per UTC day).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import FilteredRelation, Q

from ai_proxy.config import StoredConfig

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
    """A user's overrides and the usage recorded for them today (one query, see `user_day`)."""

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


class LimitExceeded(Exception):
    """A 429: which limit, the figures, and when it resets."""

    def __init__(
        self,
        *,
        limit_name: str,
        message: str,
        retry_after: int,
        used: int | str | None = None,
        limit: int | str | None = None,
        window: RateWindow | None = None,
    ):
        super().__init__(message)
        self.limit_name = limit_name
        self.message = message
        self.retry_after = retry_after
        self.used = used
        self.limit = limit
        self.window = window


def _first(*values: T | None) -> T:
    return next(value for value in values if value is not None)


def effective_limits(config: StoredConfig, day: UserDay) -> Limits:
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
        daily_cost_cap_usd=next(
            (
                value
                for value in (
                    day.override_cost,
                    config.daily_cost_cap_usd,
                    settings.AI_PROXY_DAILY_COST_CAP_USD,
                )
                if value is not None
            ),
            None,
        ),
    )


def user_day(user_id: int, now: datetime) -> UserDay:
    """The user's limit overrides and today's recorded usage, in one query."""
    row = (
        get_user_model()
        .objects.filter(pk=user_id)
        .annotate(
            today=FilteredRelation(
                "daily_proxy_usage", condition=Q(daily_proxy_usage__day=now.date())
            )
        )
        .values(
            "proxy_limit__rate_limit_rpm",
            "proxy_limit__daily_input_tokens",
            "proxy_limit__daily_output_tokens",
            "proxy_limit__daily_cost_cap_usd",
            "today__input_tokens",
            "today__output_tokens",
            "today__cost_usd",
        )
        .first()
    )
    if row is None:
        return UserDay()
    return UserDay(
        override_rpm=row["proxy_limit__rate_limit_rpm"],
        override_input=row["proxy_limit__daily_input_tokens"],
        override_output=row["proxy_limit__daily_output_tokens"],
        override_cost=row["proxy_limit__daily_cost_cap_usd"],
        input_tokens=row["today__input_tokens"] or 0,
        output_tokens=row["today__output_tokens"] or 0,
        cost_usd=row["today__cost_usd"] or Decimal(0),
    )


def seconds_to_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))


def count_request(user_id: int, limit: int, now: datetime) -> RateWindow:
    """Count one request in this minute's window; raises `LimitExceeded` past the limit."""
    epoch = int(now.timestamp())
    window_start = epoch - epoch % WINDOW_SECONDS
    reset = window_start + WINDOW_SECONDS - epoch
    key = f"ai_proxy:rpm:{user_id}:{window_start}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    window = RateWindow(limit=limit, remaining=max(0, limit - count), reset_seconds=reset)
    if count > limit:
        raise LimitExceeded(
            limit_name="requests_per_minute",
            message=(
                f"Rate limit reached: {limit} requests per minute. Try again in {reset} seconds."
            ),
            retry_after=reset,
            used=count - 1,
            limit=limit,
            window=window,
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
        if limit is not None and used >= limit:
            retry_after = seconds_to_midnight(now)
            used_text = str(used) if isinstance(used, int) else f"{used:.2f}"
            limit_text = str(limit) if isinstance(limit, int) else f"{limit:.2f}"
            raise LimitExceeded(
                limit_name=name,
                message=(
                    f"Daily {label} budget reached ({used_text} of {limit_text}). "
                    "It resets at 00:00 UTC."
                ),
                retry_after=retry_after,
                used=used if isinstance(used, int) else used_text,
                limit=limit if isinstance(limit, int) else limit_text,
            )
