"""Token usage of proxied answers: read from JSON bodies and from streams, priced, recorded.

Streams are metered as they are relayed: each meter sees every chunk on its way to the client
and keeps the latest usage figures it has seen, so a stream cut short still records what was
counted up to the cut. Only the chat meter changes what the client receives: when the proxy
asked upstream for the usage chunk (`stream_options.include_usage`) and the client did not,
that chunk is removed again.
"""

import functools
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connections, transaction
from django.db.models import Field, Model
from django.utils import timezone

from ai_proxy.config import CatalogModel
from ai_proxy.models import DailyUsage, UsageRecord
from ai_proxy.sse import SSEEvent, SSESplitter
from ai_proxy.translate import ChatStreamTranslator

ANTHROPIC = "anthropic"
CHAT = "chat"
RESPONSES = "responses"

_MILLION = Decimal(1_000_000)
_MICRO_DOLLAR = Decimal("0.000001")
_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def cost(self, model: CatalogModel | None) -> Decimal:
        if model is None:
            return Decimal(0)
        cost = (
            Decimal(self.input_tokens) * model.input_price_per_mtok
            + Decimal(self.output_tokens) * model.output_price_per_mtok
        ) / _MILLION
        return cost.quantize(_MICRO_DOLLAR, rounding=ROUND_HALF_UP)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from a provider, or an empty one when it sent something else."""
    return value if isinstance(value, dict) else {}


def _anthropic_input(usage: dict[str, Any]) -> int:
    # Cache writes and reads are input the platform pays for too.
    return sum(
        _int(usage.get(name))
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def usage_from_json(dialect: str, body: Any) -> Usage:
    """Usage of a complete (non-streamed) answer in the given dialect."""
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return Usage()
    if dialect == ANTHROPIC:
        return Usage(_anthropic_input(usage), _int(usage.get("output_tokens")))
    if dialect == CHAT:
        return Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
    return Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")))


class StreamMeter:
    """Relays a stream unchanged while reading usage from its events."""

    def __init__(self) -> None:
        self.usage = Usage()
        self._splitter = SSESplitter()

    def feed(self, chunk: bytes) -> bytes:
        for event in self._splitter.feed(chunk):
            self.observe(event)
        return chunk

    def close(self) -> bytes:
        for event in self._splitter.flush():
            self.observe(event)
        return b""

    def observe(self, event: SSEEvent) -> None:
        raise NotImplementedError


class AnthropicStreamMeter(StreamMeter):
    """Input tokens from `message_start`, output from the last `message_delta`."""

    def observe(self, event: SSEEvent) -> None:
        if event.event not in ("message_start", "message_delta", None):
            return
        data = event.json()
        if not isinstance(data, dict):
            return
        if data.get("type") == "message_start":
            usage = _object(_object(data.get("message")).get("usage"))
            self.usage.input_tokens = _anthropic_input(usage)
            self.usage.output_tokens = max(
                self.usage.output_tokens, _int(usage.get("output_tokens"))
            )
        elif data.get("type") == "message_delta":
            usage = _object(data.get("usage"))
            self.usage.output_tokens = max(
                self.usage.output_tokens, _int(usage.get("output_tokens"))
            )
            self.usage.input_tokens = max(self.usage.input_tokens, _anthropic_input(usage))


class ResponsesStreamMeter(StreamMeter):
    """Usage from the final `response.completed` (or `.incomplete` / `.failed`) event."""

    _FINAL = ("response.completed", "response.incomplete", "response.failed")

    def observe(self, event: SSEEvent) -> None:
        if event.event is not None and event.event not in self._FINAL:
            return
        data = event.json()
        if isinstance(data, dict) and data.get("type") in self._FINAL:
            found = usage_from_json(RESPONSES, data.get("response"))
            if found.input_tokens or found.output_tokens:
                self.usage = found


class ChatStreamMeter(StreamMeter):
    """Usage from the final usage chunk, which is removed when the client did not ask for it.

    When removing, output is released one whole event at a time: a client cannot use half
    an event anyway, so this adds no delay it could notice.
    """

    def __init__(self, *, strip_usage_chunk: bool):
        super().__init__()
        self.strip = strip_usage_chunk

    def feed(self, chunk: bytes) -> bytes:
        if not self.strip:
            return super().feed(chunk)
        return b"".join(self._relay(event) for event in self._splitter.feed(chunk))

    def close(self) -> bytes:
        return b"".join(self._relay(event) for event in self._splitter.flush())

    def _relay(self, event: SSEEvent) -> bytes:
        is_usage_chunk = self.observe_usage(event)
        return b"" if is_usage_chunk else event.raw

    def observe(self, event: SSEEvent) -> None:
        self.observe_usage(event)

    def observe_usage(self, event: SSEEvent) -> bool:
        """Read the usage chunk; True if this event is one (`choices` empty, `usage` set)."""
        if not _USAGE_OBJECT.search(event.raw):
            return False
        data = event.json()
        if not isinstance(data, dict) or not isinstance(data.get("usage"), dict):
            return False
        self.usage = usage_from_json(CHAT, data)
        return not data.get("choices")


class TranslatedChatStream(StreamMeter):
    """Anthropic events in, Chat Completions chunks out (see `translate.ChatStreamTranslator`)."""

    def __init__(self, *, model: str, include_usage: bool):
        super().__init__()
        self.translator = ChatStreamTranslator(model=model, include_usage=include_usage)
        self._anthropic = AnthropicStreamMeter()

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._translate(event) for event in self._splitter.feed(chunk))

    def close(self) -> bytes:
        tail = b"".join(self._translate(event) for event in self._splitter.flush())
        return tail + b"".join(self.translator.finish())

    def _translate(self, event: SSEEvent) -> bytes:
        self._anthropic.observe(event)
        self.usage = self._anthropic.usage
        return b"".join(self.translator.feed(event))

    def observe(self, event: SSEEvent) -> None:  # pragma: no cover - feed() is overridden
        raise NotImplementedError


def include_usage_upstream(body: dict[str, Any]) -> bool:
    """Ask a chat stream for its usage chunk; returns whether the client had asked already."""
    options = body.get("stream_options")
    client_asked = isinstance(options, dict) and options.get("include_usage") is True
    body["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }
    return client_asked


def parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


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


_RECORD_FIELDS = (
    "user_id", "workspace_id", "project_id", "task_id", "model", "provider", "route",
    "input_tokens", "output_tokens", "cost_usd", "status", "streamed", "latency_ms", "ttfb_ms",
    "created_at",
)  # fmt: skip
_DAY_FIELDS = ("user_id", "day", "requests", "input_tokens", "output_tokens", "cost_usd")


def _field(model: type[Model], name: str) -> "Field[Any, Any]":
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # concrete columns only
    return field


@functools.cache
def _write_sql(alias: str) -> tuple[str, str]:
    """The two statements of `usage_record`, written once: the proxy runs them after every
    answer, and the ORM would compile them each time, at several times their running cost."""
    quote = connections[alias].ops.quote_name

    def insert(model: type[Model], fields: tuple[str, ...]) -> str:
        columns = ", ".join(quote(_field(model, name).column) for name in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = quote(model._meta.db_table)
        return f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - model names

    day = quote(DailyUsage._meta.db_table)
    adds = ", ".join(
        f"{quote(name)} = {day}.{quote(name)} + EXCLUDED.{quote(name)}"
        for name in ("requests", "input_tokens", "output_tokens", "cost_usd")
    )
    # One statement adds to the day's row or creates it, atomically in the database (an
    # upsert), so concurrent writers in any number of processes lose no increment.
    upsert = (
        f"{insert(DailyUsage, _DAY_FIELDS)} "
        f"ON CONFLICT ({quote('user_id')}, {quote('day')}) DO UPDATE SET {adds}"
    )
    return insert(UsageRecord, _RECORD_FIELDS), upsert


def _prepared(
    model: type[Model], fields: tuple[str, ...], values: dict[str, Any], alias: str
) -> list[Any]:
    connection = connections[alias]
    return [_field(model, name).get_db_prep_save(values[name], connection) for name in fields]


def usage_record(
    *,
    facts: RequestFacts,
    usage: Usage,
    price: CatalogModel | None,
    status: int,
    streamed: bool,
    latency_ms: int,
    ttfb_ms: int | None,
    day: date | None = None,
) -> None:
    """Write the usage record and add it to the user's day, in one transaction."""
    now = timezone.now()
    cost = usage.cost(price)
    record = {
        "user_id": facts.user_id,
        "workspace_id": facts.workspace_id,
        "project_id": facts.project_id,
        "task_id": facts.task_id,
        "model": facts.model,
        "provider": facts.provider,
        "route": facts.route,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": cost,
        "status": status,
        "streamed": streamed,
        "latency_ms": latency_ms,
        "ttfb_ms": ttfb_ms,
        "created_at": now,
    }
    totals = {
        "user_id": facts.user_id,
        "day": day or now.date(),
        "requests": 1,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": cost,
    }
    alias = UsageRecord.objects.db
    insert, upsert = _write_sql(alias)
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        cursor.execute(insert, _prepared(UsageRecord, _RECORD_FIELDS, record, alias))
        cursor.execute(upsert, _prepared(DailyUsage, _DAY_FIELDS, totals, alias))
