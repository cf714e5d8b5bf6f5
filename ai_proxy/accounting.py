"""Token usage of proxied answers: read from JSON bodies and from streams, priced, recorded.

Streams are metered as they are relayed: each meter sees every chunk on its way to the client
and keeps the latest usage figures it has seen, so a stream cut short still records what was
counted up to the cut. Only the chat meter changes what the client receives: when the proxy
asked upstream for the usage chunk (`stream_options.include_usage`) and the client did not,
that chunk is removed again.
"""

import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ai_proxy.sse import SSEEvent, SSESplitter
from ai_proxy.translate import ChatStreamTranslator
from catalog.config import CatalogModel

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
    """Relays a stream event by event while reading usage from it.

    Whole events only: the bytes of an event go out once its closing blank line is in (a
    client cannot use half an event anyway, so this adds no delay it could notice). The
    final event (`FINAL`) and whatever follows it are held back until `take_final`: the
    usage record is committed before the client sees the end of the answer (SPEC 20.3).
    """

    FINAL: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.usage = Usage()
        self._splitter = SSESplitter()
        self._final: bytes | None = None
        self.final_seen = False

    def feed(self, chunk: bytes) -> bytes:
        return self._pass(self._splitter.feed(chunk))

    def close(self) -> bytes:
        """What is left when the upstream stream ends (also a held final event)."""
        tail = self._pass(self._splitter.flush()) + self.take_final()
        return tail + self.finish()

    def _pass(self, events: list[SSEEvent]) -> bytes:
        out = []
        for event in events:
            relayed = self.relay_event(event)
            if self._final is not None:
                self._final += relayed
            elif not self.final_seen and self.is_final(event):
                self.final_seen, self._final = True, relayed
            else:
                out.append(relayed)
        return b"".join(out)

    @property
    def final_held(self) -> bool:
        return self._final is not None

    def take_final(self) -> bytes:
        final, self._final = self._final or b"", None
        return final

    def is_final(self, event: SSEEvent) -> bool:
        return event.event in self.FINAL or (event.event is None and event.data in self.FINAL)

    def relay_event(self, event: SSEEvent) -> bytes:
        """Read the event; returns what the client receives for it."""
        self.observe(event)
        return event.raw

    def observe(self, event: SSEEvent) -> None:
        raise NotImplementedError

    def finish(self) -> bytes:
        """What the client receives after everything else (a translator's closing)."""
        return b""

    def error_tail(self, event: bytes) -> bytes:
        """What the client receives when the upstream fails mid-stream (`event`: the
        proxy's error event in the route's dialect)."""
        return event


class AnthropicStreamMeter(StreamMeter):
    """Input tokens from `message_start`, output from the last `message_delta`."""

    FINAL = frozenset({"message_stop"})

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

    FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def observe(self, event: SSEEvent) -> None:
        if event.event is not None and event.event not in self.FINAL:
            return
        data = event.json()
        if isinstance(data, dict) and data.get("type") in self.FINAL:
            found = usage_from_json(RESPONSES, data.get("response"))
            if found.input_tokens or found.output_tokens:
                self.usage = found


class ChatStreamMeter(StreamMeter):
    """Usage from the final usage chunk, which is removed when the client did not ask for
    it (the proxy asked upstream with `stream_options.include_usage`)."""

    FINAL = frozenset({"[DONE]"})

    def __init__(self, *, strip_usage_chunk: bool):
        super().__init__()
        self.strip = strip_usage_chunk

    def relay_event(self, event: SSEEvent) -> bytes:
        is_usage_chunk = self._observe_usage(event)
        return b"" if is_usage_chunk and self.strip else event.raw

    def observe(self, event: SSEEvent) -> None:
        self._observe_usage(event)

    def _observe_usage(self, event: SSEEvent) -> bool:
        """Read the usage chunk; True if this event is one (`choices` empty, `usage` set)."""
        if not _USAGE_OBJECT.search(event.raw):
            return False
        data = event.json()
        if not isinstance(data, dict) or not isinstance(data.get("usage"), dict):
            return False
        self.usage = usage_from_json(CHAT, data)
        return not data.get("choices")


class TranslatedChatStream(StreamMeter):
    """Anthropic events in, Chat Completions chunks out (see `translate.ChatStreamTranslator`);
    the closing chunks of `message_stop` are the final event."""

    FINAL = AnthropicStreamMeter.FINAL

    def __init__(self, *, model: str, include_usage: bool):
        super().__init__()
        self.translator = ChatStreamTranslator(model=model, include_usage=include_usage)
        self._anthropic = AnthropicStreamMeter()

    def relay_event(self, event: SSEEvent) -> bytes:
        self._anthropic.observe(event)
        self.usage = self._anthropic.usage
        return b"".join(self.translator.feed(event))

    def observe(self, event: SSEEvent) -> None:  # pragma: no cover - relay_event is overridden
        raise NotImplementedError

    def finish(self) -> bytes:
        return b"".join(self.translator.finish())

    def error_tail(self, event: bytes) -> bytes:
        # An error chunk the OpenAI SDK raises on, then the one closing [DONE].
        return event + b"".join(self.translator.finish(error=True))


def include_usage_upstream(body: dict[str, Any]) -> bool:
    """Ask a chat stream for its usage chunk; returns whether the client had asked already."""
    options = body.get("stream_options")
    client_asked = isinstance(options, dict) and options.get("include_usage") is True
    body["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }
    return client_asked


def usage_of_answer(dialect: str, raw: bytes) -> Usage:
    """Usage of a complete JSON answer (an answer that is not JSON counts nothing)."""
    try:
        return usage_from_json(dialect, json.loads(raw))
    except (ValueError, RecursionError):
        return Usage()
