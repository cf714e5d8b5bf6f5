"""Budget alerts (SPEC 23): when a user's day reaches AI_PROXY_ALERT_PERCENT and 100 % of a
daily budget, a signed JSON POST to AI_PROXY_ALERT_WEBHOOK_URL, once per user, day, budget
and threshold.

Nothing of it runs on a request's path but `usage_noted`, which puts the user in this
process's set of users to look at. The server's background job (`budget_alerts_job`,
started by `sam_project.background`) looks at them every AI_PROXY_ALERT_INTERVAL seconds:
it inserts a `BudgetAlert` row for each threshold reached, the insert skipped when another
worker or machine already has that row (the unique constraint), then delivers the rows that
are due. A worker claims a row before it sends it (moving its `next_attempt_at` past the
delivery's timeout), so two workers never send the same alert at once; a failed delivery
(no answer in time, or not a 2xx) is tried again after AI_PROXY_ALERT_RETRY_SECONDS,
doubled at each try, at most AI_PROXY_ALERT_MAX_ATTEMPTS times.

The receiver checks `X-SAM-Signature: sha256=<hex HMAC-SHA256 of the body under
AI_PROXY_ALERT_WEBHOOK_SECRET>`; `X-SAM-Delivery` is the alert's id, the same on every try.
"""

import asyncio
import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import aiohttp
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections
from django.utils import timezone

from ai_proxy.limits import effective_limits, user_day
from ai_proxy.models import BudgetAlert, BudgetLimit
from catalog.config import stored_config

logger = logging.getLogger(__name__)
T = TypeVar("T")

DELIVERIES_PER_ROUND = 50
_users_to_check: set[int] = set()


def usage_noted(user_id: int) -> None:
    """The platform paid for an answer of this user's: look at their budgets soon."""
    if settings.AI_PROXY_ALERT_WEBHOOK_URL:
        _users_to_check.add(user_id)


def thresholds() -> list[int]:
    return sorted({min(100, settings.AI_PROXY_ALERT_PERCENT), 100})


@dataclass(frozen=True)
class Reached:
    budget: str
    threshold: int
    used: int | Decimal
    limit: int | Decimal


def budgets_reached(user_id: int, now: datetime) -> list[Reached]:
    """Each threshold of each daily budget the user's day has reached."""
    day = user_day(user_id, now)
    limits = effective_limits(stored_config(), day)
    budgets: list[tuple[str, int | Decimal, int | Decimal | None]] = [
        (BudgetLimit.INPUT_TOKENS, day.input_tokens, limits.daily_input_tokens),
        (BudgetLimit.OUTPUT_TOKENS, day.output_tokens, limits.daily_output_tokens),
        (BudgetLimit.COST, day.cost_usd, limits.daily_cost_cap_usd),
    ]
    return [
        Reached(budget, threshold, used, limit)
        for budget, used, limit in budgets
        if limit and used > 0
        for threshold in thresholds()
        if used * 100 >= limit * threshold
    ]


def _figure(value: int | Decimal) -> int | str:
    return value if isinstance(value, int) else f"{value:.6f}"


def alert_body(*, user_id: int, username: str, day: date, reached: Reached) -> str:
    return json.dumps(
        {
            "type": "budget_alert",
            "user": {"id": user_id, "username": username},
            "day": day.isoformat(),
            "budget": reached.budget,
            "threshold_percent": reached.threshold,
            "used": _figure(reached.used),
            "limit": _figure(reached.limit),
            "resets_at": f"{(day + timedelta(days=1)).isoformat()}T00:00:00Z",
        },
        sort_keys=True,
    )


def alerts_record(user_ids: set[int]) -> int:
    """Insert the alerts these users' days call for (an existing one is left as it is);
    returns how many rows were offered."""
    now = timezone.now()
    usernames = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username"))
    rows = [
        BudgetAlert(
            user_id=user_id,
            day=now.date(),
            budget=reached.budget,
            threshold=reached.threshold,
            body=alert_body(
                user_id=user_id, username=usernames[user_id], day=now.date(), reached=reached
            ),
            next_attempt_at=now,
        )
        for user_id in user_ids
        if user_id in usernames
        for reached in budgets_reached(user_id, now)
    ]
    BudgetAlert.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def alerts_claim() -> list[BudgetAlert]:
    """The alerts due now that this worker got hold of: each is moved past the delivery's
    timeout, so no other worker sends it meanwhile."""
    now = timezone.now()
    held_until = now + timedelta(seconds=settings.AI_PROXY_ALERT_WEBHOOK_TIMEOUT + 5)
    due = BudgetAlert.objects.filter(delivered_at=None, next_attempt_at__lte=now).order_by(
        "next_attempt_at"
    )[:DELIVERIES_PER_ROUND]
    claimed = []
    for alert in due:
        won = BudgetAlert.objects.filter(pk=alert.pk, next_attempt_at=alert.next_attempt_at).update(
            next_attempt_at=held_until
        )
        if won:
            claimed.append(alert)
    return claimed


def alert_outcome_save(alert: BudgetAlert, *, status: int | None, error: str) -> None:
    """A try's outcome: delivered (a 2xx), or the next try's time, or given up."""
    now = timezone.now()
    alert.attempts += 1
    alert.last_status, alert.last_error = status, error[:200]
    if status is not None and 200 <= status < 300:
        alert.delivered_at, alert.next_attempt_at = now, None
    elif alert.attempts >= settings.AI_PROXY_ALERT_MAX_ATTEMPTS:
        alert.next_attempt_at = None
        logger.error("alerts.given_up", extra={"alert": alert.pk, "attempts": alert.attempts})
    else:
        wait = settings.AI_PROXY_ALERT_RETRY_SECONDS * 2 ** (alert.attempts - 1)
        alert.next_attempt_at = now + timedelta(seconds=wait)
    alert.save(
        update_fields=["attempts", "last_status", "last_error", "delivered_at", "next_attempt_at"]
    )


def signature(body: bytes) -> str:
    secret = settings.AI_PROXY_ALERT_WEBHOOK_SECRET.encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


async def alert_send(session: aiohttp.ClientSession, alert: BudgetAlert) -> None:
    body = alert.body.encode()
    headers = {
        "Content-Type": "application/json",
        "X-SAM-Signature": signature(body),
        "X-SAM-Delivery": str(alert.pk),
    }
    status, error = None, ""
    try:
        # A redirect is a failure: the signed alert goes to the configured URL or nowhere.
        async with session.post(
            settings.AI_PROXY_ALERT_WEBHOOK_URL, data=body, headers=headers, allow_redirects=False
        ) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as failure:
        error = type(failure).__name__
    if status is None or not 200 <= status < 300:
        logger.warning("alerts.delivery_failed", extra={"alert": alert.pk, "status": status})
    try:
        await _in_thread(functools.partial(alert_outcome_save, alert, status=status, error=error))
    except DatabaseError:
        # The claim runs out and the alert is tried again: a receiver may see it twice.
        logger.exception("alerts.database_failed")


def _closing(function: Callable[[], T]) -> T:
    try:
        return function()
    finally:
        connections.close_all()  # this thread's connections; the next run may get another


async def _in_thread(function: Callable[[], T]) -> T:
    return await sync_to_async(_closing, thread_sensitive=False)(function)


async def alerts_round(session: aiohttp.ClientSession) -> None:
    """Record the alerts of the users seen since the last round, then deliver what is due."""
    users = set(_users_to_check)
    _users_to_check.difference_update(users)
    try:
        if users:
            await _in_thread(functools.partial(alerts_record, users))
        due = await _in_thread(alerts_claim)
    except DatabaseError:
        _users_to_check.update(users)  # looked at again next round
        logger.exception("alerts.database_failed")
        return
    await asyncio.gather(*(alert_send(session, alert) for alert in due))


async def budget_alerts_job() -> None:
    timeout = aiohttp.ClientTimeout(total=settings.AI_PROXY_ALERT_WEBHOOK_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            await asyncio.sleep(settings.AI_PROXY_ALERT_INTERVAL)
            await alerts_round(session)
