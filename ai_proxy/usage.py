"""Recording what the proxy served: one usage record per inference answered 2xx, added to
the user's day in the same transaction.

Two statements, written once from the models' metadata (see `ai_proxy.db` for why not the
ORM): an INSERT of the record and an upsert of the day's totals, which adds to the day's
row in the database itself, so any number of writers in any number of processes lose no
increment.
"""

import functools
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Field, Model
from django.utils import timezone

from ai_proxy import db
from ai_proxy.accounting import Usage
from ai_proxy.models import DailyUsage, PaidBy, UsageRecord
from ai_proxy.runtime import write_in_flight
from catalog.config import CatalogModel

if TYPE_CHECKING:
    import asyncio

    from ai_proxy.exchange import Exchange


@dataclass(frozen=True)
class RequestFacts:
    """Who asked, for what, through which route: everything a usage record needs but tokens."""

    user_id: int
    workspace_id: Any
    project_id: int | None
    task_id: int | None
    model: str
    provider: str
    route: str
    paid_by: str = PaidBy.PLATFORM
    upstream_key: str = ""


@dataclass(frozen=True)
class Outcome:
    """How the answer went: what a usage record says of it besides its tokens."""

    status: int
    streamed: bool = False
    latency_ms: int = 0
    ttfb_ms: int | None = None
    incomplete: bool = False  # cut short: counts what was relayed
    estimated: bool = False  # output counted from the text relayed


# The token kinds, as UsageRecord and DailyUsage keep them (ai_proxy.models.TokenCounts).
_KINDS = (
    "input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens",
    "output_tokens", "cost_usd",
)  # fmt: skip
_RECORD_FIELDS = (
    "user_id", "workspace_id", "project_id", "task_id", "model", "provider", "route", "paid_by",
    "upstream_key", *_KINDS, "reasoning_tokens", "status", "streamed", "latency_ms", "ttfb_ms",
    "incomplete", "estimated", "pre_split", "created_at",
)  # fmt: skip
_DAY_FIELDS = ("user_id", "day", "paid_by", "requests", *_KINDS, "pre_split")
_DAY_SUMS = ("requests", *_KINDS)


def _field(model: type[Model], name: str) -> "Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # concrete columns only
    return field


@functools.cache
def _write_sql(alias: str) -> tuple[str, str]:
    quote = connections[alias].ops.quote_name

    def insert(model: type[Model], fields: tuple[str, ...]) -> str:
        columns = ", ".join(quote(_field(model, name).column) for name in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = quote(model._meta.db_table)
        return f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - model names

    day = quote(DailyUsage._meta.db_table)
    adds = ", ".join(
        f"{quote(name)} = {day}.{quote(name)} + EXCLUDED.{quote(name)}" for name in _DAY_SUMS
    )
    upsert = (
        f"{insert(DailyUsage, _DAY_FIELDS)} "
        f"ON CONFLICT ({quote('user_id')}, {quote('day')}, {quote('paid_by')}) "
        f"DO UPDATE SET {adds}"
    )
    return insert(UsageRecord, _RECORD_FIELDS), upsert


def _ordered(fields: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
    return [values[name] for name in fields]


def usage_statements(
    *,
    facts: RequestFacts,
    usage: Usage,
    price: CatalogModel | None,
    outcome: Outcome,
    day: date | None = None,
) -> list[tuple[str, list[Any]]]:
    """The record and the day's upsert, with their parameters."""
    now = timezone.now()
    kinds = {**vars(usage), "cost_usd": usage.cost(price), "pre_split": False}
    record = {**vars(facts), **kinds, **vars(outcome), "created_at": now}
    totals = {
        **kinds,
        "user_id": facts.user_id,
        "day": day or now.date(),
        "paid_by": facts.paid_by,
        "requests": 1,
    }
    insert, upsert = _write_sql(UsageRecord.objects.db)
    return [
        (insert, _ordered(_RECORD_FIELDS, record)),
        (upsert, _ordered(_DAY_FIELDS, totals)),
    ]


def usage_record_from_exchange(
    exchange: "Exchange", *, usage: Usage, estimated: bool
) -> "asyncio.Future[None] | None":
    """Start writing the usage record of an exchange; the returned write runs to its end
    even if the request is cancelled."""
    token = exchange.token
    if token is None:
        return None
    facts = RequestFacts(
        user_id=token.user_id,
        workspace_id=token.workspace_id,
        project_id=token.project_id,
        task_id=token.newest_task_id,
        model=exchange.model or "",
        provider=exchange.provider or "",
        route=exchange.route.name,
        paid_by=exchange.paid_by,
        upstream_key=exchange.key_label or "",
    )
    outcome = Outcome(
        status=exchange.upstream_status or 0,
        streamed=exchange.streamed,
        latency_ms=int(exchange.latency_ms),
        ttfb_ms=None if exchange.ttfb_ms is None else int(exchange.ttfb_ms),
        incomplete=exchange.streamed and not exchange.final_seen,
        estimated=estimated,
    )
    statements = usage_statements(facts=facts, usage=usage, price=exchange.entry, outcome=outcome)
    return write_in_flight(db.commit(statements))
