"""Token usage of proxied answers: read from JSON bodies and from streams, priced, recorded.

Streams are metered as they are relayed: each meter sees every chunk on its way to the client
and keeps the latest usage figures it has seen, so a stream cut short still records what was
counted up to the cut. Only the chat meter changes what the client receives: when the proxy
asked upstream for the usage chunk (`stream_options.include_usage`) and the client did not,
that chunk is removed again.
"""

import math
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

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
    """The token kinds of SPEC 20.1: uncached input, cache writes (5-minute and 1-hour),
    cache reads, output; reasoning is part of output and counted apart for information."""

    input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def cost(self, model: CatalogModel | None) -> Decimal:
        """The sum over the kinds of tokens times the catalog's price, to the micro-dollar."""
        if model is None:
            return Decimal(0)
        cost = (
            self.input_tokens * model.input_price_per_mtok
            + self.cache_write_5m_tokens * model.cache_write_5m_price_per_mtok
            + self.cache_write_1h_tokens * model.cache_write_1h_price_per_mtok
            + self.cache_read_tokens * model.cache_read_price_per_mtok
            + self.output_tokens * model.output_price_per_mtok
        ) / _MILLION
        return cost.quantize(_MICRO_DOLLAR, rounding=ROUND_HALF_UP)

    @property
    def any(self) -> bool:
        return any(vars(self).values())

    def merged(self, later: "Usage") -> "Usage":
        """These counts with a later report's over them (streams report in parts: Anthropic
        sends input at the start and output at the end)."""
        return Usage(
            *(
                max(ours, theirs)
                for ours, theirs in zip(vars(self).values(), vars(later).values(), strict=True)
            )
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _object(value: Any) -> dict[str, Any]:
    """A JSON object from a provider, or an empty one when it sent something else."""
    return value if isinstance(value, dict) else {}


def anthropic_usage(usage: dict[str, Any]) -> Usage:
    """Anthropic's `usage`: input_tokens is already uncached; a cache write is split into
    5-minute and 1-hour writes when `cache_creation` says so (unsplit counts as 5-minute)."""
    written = _int(usage.get("cache_creation_input_tokens"))
    split = _object(usage.get("cache_creation"))
    one_hour = min(written, _int(split.get("ephemeral_1h_input_tokens")))
    return Usage(
        input_tokens=_int(usage.get("input_tokens")),
        cache_write_5m_tokens=written - one_hour,
        cache_write_1h_tokens=one_hour,
        cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
    )


def _openai_usage(usage: dict[str, Any], *, prompt: str, completion: str) -> Usage:
    """OpenAI's `usage` (chat: prompt/completion tokens; Responses: input/output tokens):
    cached tokens are part of the prompt's count, reasoning tokens part of the output's."""
    cached = _int(_object(usage.get(f"{prompt}_details")).get("cached_tokens"))
    prompt_tokens = _int(usage.get(prompt))
    return Usage(
        input_tokens=max(0, prompt_tokens - cached),
        cache_read_tokens=min(cached, prompt_tokens),
        output_tokens=_int(usage.get(completion)),
        reasoning_tokens=_int(_object(usage.get(f"{completion}_details")).get("reasoning_tokens")),
    )


def usage_from_json(dialect: str, body: Any) -> Usage:
    """Usage of a complete (non-streamed) answer in the given dialect."""
    usage = _object(_object(body).get("usage"))
    if not usage:
        return Usage()
    if dialect == ANTHROPIC:
        return anthropic_usage(usage)
    if dialect == CHAT:
        return _openai_usage(usage, prompt="prompt_tokens", completion="completion_tokens")
    return _openai_usage(usage, prompt="input_tokens", completion="output_tokens")


class StreamMeter:
    """Relays a stream event by event while reading usage from it.

    Whole events only: the bytes of an event go out once its closing blank line is in (a
    client cannot use half an event anyway, so this adds no delay it could notice). The
    final event (`FINAL`) and whatever follows it are held back until `take_final`: the
    usage record is committed before the client sees the end of the answer (SPEC 20.3).
    """

    FINAL: frozenset[str] = frozenset()
    # The generated text in an event's raw bytes, for an estimate when the stream ends
    # before its usage does (SPEC 20.3).
    TEXT = re.compile(rb'"(?:text|partial_json|thinking)"\s*:\s*"((?:[^"\\]|\\.)*)"')

    response_id: str | None = None  # a Responses stream's id (`ResponsesStreamMeter`)

    def __init__(self) -> None:
        self.usage = Usage()
        self.usage_final = False  # the usage that closes the answer has come
        self.text_chars = 0
        self._splitter = SSESplitter()
        self._final: bytes | None = None
        self.final_seen = False

    def measured(self) -> tuple[Usage, bool]:
        """The usage to record, and whether its output is an estimate from the text relayed
        (about four characters a token) because the stream ended before its usage did."""
        estimate = math.ceil(self.text_chars / 4)
        if self.usage_final or estimate <= self.usage.output_tokens:
            return self.usage, False
        return replace(self.usage, output_tokens=estimate), True

    def count_text(self, raw: bytes) -> None:
        self.text_chars += sum(len(text) for text in self.TEXT.findall(raw))

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
        self.count_text(event.raw)
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
        elif data.get("type") == "message_delta":
            usage = _object(data.get("usage"))
            self.usage_final = self.usage_final or "output_tokens" in usage
        else:
            return
        self.usage = self.usage.merged(anthropic_usage(usage))


class ResponsesStreamMeter(StreamMeter):
    """Usage from the final `response.completed` (or `.incomplete` / `.failed`) event."""

    FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
    TEXT = re.compile(rb'"delta"\s*:\s*"((?:[^"\\]|\\.)*)"')
    _READ = FINAL | {"response.created"}

    def __init__(self) -> None:
        super().__init__()
        self.response_id: str | None = None  # for previous_response_id (ai_proxy.policy)

    def observe(self, event: SSEEvent) -> None:
        if event.event is not None and event.event not in self._READ:
            return
        data = event.json()
        if not isinstance(data, dict) or data.get("type") not in self._READ:
            return
        response = _object(data.get("response"))
        if isinstance(response.get("id"), str):
            self.response_id = response["id"]
        found = usage_from_json(RESPONSES, response)
        if found.any:
            self.usage, self.usage_final = found, True


class ChatStreamMeter(StreamMeter):
    """Usage from the final usage chunk, which is removed when the client did not ask for
    it (the proxy asked upstream with `stream_options.include_usage`)."""

    FINAL = frozenset({"[DONE]"})
    TEXT = re.compile(rb'"(?:content|arguments|reasoning_content)"\s*:\s*"((?:[^"\\]|\\.)*)"')

    def __init__(self, *, strip_usage_chunk: bool):
        super().__init__()
        self.strip = strip_usage_chunk

    def relay_event(self, event: SSEEvent) -> bytes:
        is_usage_chunk = self._observe_usage(event)
        self.count_text(event.raw)
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
        self.usage, self.usage_final = usage_from_json(CHAT, data), True
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
        self.usage, self.usage_final = self._anthropic.usage, self._anthropic.usage_final
        self.count_text(event.raw)
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


@dataclass(frozen=True)
class AnswerFacts:
    usage: Usage
    response_id: str | None = None  # a Responses answer's id


def answer_facts(dialect: str, raw: bytes) -> AnswerFacts:
    """What a complete JSON answer says of itself (an answer that is not JSON: nothing)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return AnswerFacts(Usage())
    response_id = _object(document).get("id") if dialect == RESPONSES else None
    return AnswerFacts(
        usage_from_json(dialect, document),
        response_id if isinstance(response_id, str) else None,
    )
