"""The fake provider's successful answers: what it says and what it reports using, sent as
one JSON document or as an SSE stream (the shapes are in `messages_api.py` and
`openai_api.py`)."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tests.fakes import messages_api, openai_api
from tests.fakes.behaviours import Hang, Received, Reply
from tests.fakes.caching import CacheUsage, PromptCache, block_tokens, has_breakpoints

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
# A stream is a sequence of events: (is it a text delta, a function producing its bytes).
# Bytes are produced when sent, so a `stamp` delta carries the time it left.
Events = Iterator[tuple[bool, Callable[[], bytes]]]


async def send_json(
    send: Send, status: int, document: Any, headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(document).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(payload)),
    ]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return ""


def prompt_text(request: dict[str, Any]) -> str:
    """The text of the last message (Messages, chat) or input item (Responses)."""
    items = request.get("messages")
    if items is None:
        items = request.get("input")
        if isinstance(items, str):
            return items
    if isinstance(items, list) and items and isinstance(items[-1], dict):
        return _text_of(items[-1].get("content"))
    return ""


@dataclass(frozen=True)
class Usage:
    input_tokens: int  # Anthropic: uncached input; OpenAI: the whole prompt, cached included
    output_tokens: int  # reasoning included
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cached_tokens: int = 0  # OpenAI
    reasoning_tokens: int = 0  # OpenAI

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


def usage_of(
    reply: Reply, request: dict[str, Any], text: str, cache: PromptCache, dialect: str
) -> Usage:
    words = max(len(prompt_text(request).split()), 1)
    output = (
        reply.output_tokens
        if reply.output_tokens is not None
        else len(text.split())
        + reply.reasoning_tokens
        + sum(block_tokens(tool["input"]) for tool in reply.tool_use)
    )
    cached = CacheUsage(input_tokens=words)
    if reply.scripts_cache:
        cached = CacheUsage(
            words, reply.cache_read or 0, reply.cache_write or 0, reply.cache_write_1h or 0
        )
    elif dialect == "anthropic" and has_breakpoints(request):
        cached = cache.use(request)
    input_tokens = cached.input_tokens
    if reply.input_tokens is not None:
        input_tokens = reply.input_tokens
    elif reply.cached_tokens:
        input_tokens = words + reply.cached_tokens
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output,
        cache_read=cached.cache_read,
        cache_write_5m=cached.cache_write_5m,
        cache_write_1h=cached.cache_write_1h,
        cached_tokens=reply.cached_tokens,
        reasoning_tokens=reply.reasoning_tokens,
    )


class Answer:
    """One successful (or hanging) answer, JSON or streamed."""

    def __init__(
        self,
        number: int,
        on_disconnect: Callable[[], None],
        record: Received,
        request: dict[str, Any],
        behaviour: Reply | Hang,
        receive: Receive,
        send: Send,
        cache: PromptCache,
        headers: dict[str, str],
        dialect: str,
    ):
        self.dialect = dialect
        self.number, self.on_disconnect = number, on_disconnect
        self.record, self.request = record, request
        self.reply = behaviour if isinstance(behaviour, Reply) else Reply()
        self.hang = behaviour if isinstance(behaviour, Hang) else None
        self.receive, self.send = receive, send
        self.headers = headers
        self.model = str(request.get("model", "fake-model"))
        self.text = (
            self.reply.text if self.reply.text is not None else f"Echo: {prompt_text(request)}"
        )
        self.tools = self.reply.tool_use
        self.usage = usage_of(self.reply, request, self.text, cache, dialect)

    async def run(self) -> None:
        dialect = self.dialect
        gone = asyncio.ensure_future(self.receive())  # completes when the client goes away
        try:
            if self.reply.delay:
                await asyncio.wait({gone}, timeout=self.reply.delay)
            if self.hang is not None and self.hang.after_chunks is None:
                await gone
            if gone.done():
                self.on_disconnect()
                return
            stream = self.request.get("stream") is True and dialect != "count_tokens"
            if not stream:
                self.record.status = 200
                await send_json(self.send, 200, self._document(dialect), self.headers)
                return
            await self._stream(dialect, gone)
        finally:
            gone.cancel()

    def deltas(self) -> list[str]:
        """The answer's text in pieces, one per text delta of a stream."""
        words = self.text.split(" ")
        count = self.reply.chunks or len(words)
        size = -(-len(words) // count) if words else 1
        pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        pieces = [p + " " if i < len(pieces) - 1 else p for i, p in enumerate(pieces)]
        return pieces + [""] * (count - len(pieces))

    def delta_text(self, piece: str) -> str:
        return f"{time.monotonic():.6f} " if self.reply.stamp else piece

    def fails_at(self, delta: int) -> bool:
        return self.reply.error_after is not None and delta == self.reply.error_after

    async def _stream(self, dialect: str, gone: "asyncio.Future[Any]") -> None:
        events = {
            "anthropic": messages_api.events,
            "chat": openai_api.chat_events,
            "responses": openai_api.responses_events,
        }[dialect]
        self.record.status = 200
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        headers += [(k.encode(), v.encode()) for k, v in self.headers.items()]
        await self.send({"type": "http.response.start", "status": 200, "headers": headers})
        for sent, (is_delta, produce) in enumerate(events(self)):
            if is_delta and sent and self.reply.chunk_delay:
                await asyncio.wait({gone}, timeout=self.reply.chunk_delay)
            if self.hang is not None and sent == self.hang.after_chunks:
                await gone
            if gone.done():
                self.on_disconnect()
                return
            payload = produce()
            self.record.chunk_times.append(time.monotonic())
            await self.send({"type": "http.response.body", "body": payload, "more_body": True})
        await self.send({"type": "http.response.body", "body": b""})

    def _document(self, dialect: str) -> Any:
        if dialect == "count_tokens":
            return {"input_tokens": self.usage.input_tokens}
        if dialect == "anthropic":
            return messages_api.document(self)
        if dialect == "chat":
            return openai_api.chat_document(self)
        return openai_api.responses_document(self)
