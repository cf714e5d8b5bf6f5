"""The fake provider's answers: JSON documents and SSE event streams in the shape of the
Anthropic Messages API and the OpenAI chat completions and Responses APIs.

Stream events carry non-ASCII text unescaped (UTF-8), as the providers send it."""

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.behaviours import Hang, Received, Reply

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


def error_body(dialect: str, error_type: str, code: str | None, message: str) -> Any:
    if dialect in ("anthropic", "count_tokens"):
        return {"type": "error", "error": {"type": error_type, "message": message}}
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


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


def _prompt(request: dict[str, Any]) -> str:
    """The text of the last message (Messages, chat) or input item (Responses)."""
    items = request.get("messages")
    if items is None:
        items = request.get("input")
        if isinstance(items, str):
            return items
    if isinstance(items, list) and items and isinstance(items[-1], dict):
        return _text_of(items[-1].get("content"))
    return ""


_OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


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
    ):
        self.number, self.on_disconnect = number, on_disconnect
        self.record, self.request = record, request
        self.reply = behaviour if isinstance(behaviour, Reply) else Reply()
        self.hang = behaviour if isinstance(behaviour, Hang) else None
        self.receive, self.send = receive, send
        self.model = str(request.get("model", "fake-model"))
        prompt = _prompt(request)
        self.text = self.reply.text if self.reply.text is not None else f"Echo: {prompt}"
        self.input_tokens = (
            self.reply.input_tokens
            if self.reply.input_tokens is not None
            else max(len(prompt.split()), 1)
        )
        self.output_tokens = (
            self.reply.output_tokens
            if self.reply.output_tokens is not None
            else len(self.text.split())
        )

    async def run(self, dialect: str) -> None:
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
                await send_json(self.send, 200, self._document(dialect))
                return
            await self._stream(dialect, gone)
        finally:
            gone.cancel()

    def _deltas(self) -> list[str]:
        words = self.text.split(" ")
        count = self.reply.chunks or len(words)
        size = -(-len(words) // count) if words else 1
        pieces = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
        pieces = [p + " " if i < len(pieces) - 1 else p for i, p in enumerate(pieces)]
        return pieces + [""] * (count - len(pieces))

    async def _stream(self, dialect: str, gone: "asyncio.Future[Any]") -> None:
        events = {"anthropic": self._anthropic_events, "chat": self._chat_events}.get(
            dialect, self._responses_events
        )
        await self.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream; charset=utf-8")],
            }
        )
        for sent, (is_delta, produce) in enumerate(events()):
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

    def _delta_text(self, piece: str) -> str:
        return f"{time.monotonic():.6f} " if self.reply.stamp else piece

    # --- Anthropic Messages -------------------------------------------------------------
    def _anthropic_message(self, content: list[Any], stop: str | None, output: int) -> Any:
        return {
            "id": f"msg_fake{self.number}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": self.input_tokens,
                "output_tokens": output,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    def _anthropic_events(self) -> Any:
        def event(name: str, data: Any) -> bytes:
            return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

        yield (
            False,
            lambda: event(
                "message_start",
                {"type": "message_start", "message": self._anthropic_message([], None, 1)},
            ),
        )
        yield (
            False,
            lambda: event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
        )
        yield False, lambda: event("ping", {"type": "ping"})
        for number, piece in enumerate(self._deltas()):
            if self.reply.error_after is not None and number == self.reply.error_after:
                yield False, lambda: event("error", _OVERLOADED)
                return
            yield (
                True,
                lambda piece=piece: event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": self._delta_text(piece)},
                    },
                ),
            )
        yield False, lambda: event("content_block_stop", {"type": "content_block_stop", "index": 0})
        for index, tool in enumerate(self.reply.tool_use, start=1):
            yield from self._tool_use_events(event, index, tool)
        yield (
            False,
            lambda: event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.reply.stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": self.output_tokens},
                },
            ),
        )
        yield False, lambda: event("message_stop", {"type": "message_stop"})

    def _tool_use_events(self, event: Any, index: int, tool: dict[str, Any]) -> Any:
        start = {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": {}}
        yield (
            False,
            lambda: event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": start},
            ),
        )
        arguments = json.dumps(tool["input"])
        middle = len(arguments) // 2
        for part in (arguments[:middle], arguments[middle:]):
            yield (
                True,
                lambda part=part: event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    },
                ),
            )
        yield (
            False,
            lambda: event("content_block_stop", {"type": "content_block_stop", "index": index}),
        )

    # --- OpenAI chat completions ----------------------------------------------------------
    def _chat_usage(self) -> Any:
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
        }

    def _chat_events(self) -> Any:
        include_usage = bool((self.request.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: Any, finish: str | None) -> bytes:
            data: dict[str, Any] = {
                "id": f"chatcmpl-fake{self.number}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if include_usage:
                data["usage"] = None
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

        yield False, lambda: chunk({"role": "assistant", "content": ""}, None)
        for piece in self._deltas():
            yield True, lambda piece=piece: chunk({"content": self._delta_text(piece)}, None)
        yield False, lambda: chunk({}, "stop")
        if include_usage:
            usage = {
                "id": f"chatcmpl-fake{self.number}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.model,
                "choices": [],
                "usage": self._chat_usage(),
            }
            yield False, lambda: f"data: {json.dumps(usage, ensure_ascii=False)}\n\n".encode()
        yield False, lambda: b"data: [DONE]\n\n"

    # --- OpenAI Responses -----------------------------------------------------------------
    def _response(self, status: str, output: list[Any], usage: bool) -> Any:
        return {
            "id": f"resp_fake{self.number}",
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "error": None,
            "incomplete_details": None,
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            }
            if usage
            else None,
        }

    def _output_item(self, text: str, status: str) -> Any:
        content = [{"type": "output_text", "text": text, "annotations": []}] if status else []
        return {
            "id": f"msg_fake{self.number}",
            "type": "message",
            "status": status or "in_progress",
            "role": "assistant",
            "content": content,
        }

    def _responses_events(self) -> Any:
        sequence = itertools.count()
        item_id = f"msg_fake{self.number}"

        def event(name: str, **data: Any) -> bytes:
            document = {"type": name, "sequence_number": next(sequence), **data}
            return f"event: {name}\ndata: {json.dumps(document, ensure_ascii=False)}\n\n".encode()

        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": []}
        yield (
            False,
            lambda: event("response.created", response=self._response("in_progress", [], False)),
        )
        yield (
            False,
            lambda: event(
                "response.in_progress", response=self._response("in_progress", [], False)
            ),
        )
        yield (
            False,
            lambda: event(
                "response.output_item.added", output_index=0, item=self._output_item("", "")
            ),
        )
        yield False, lambda: event("response.content_part.added", part=part, **where)
        for piece in self._deltas():
            yield (
                True,
                lambda piece=piece: event(
                    "response.output_text.delta",
                    delta=self._delta_text(piece),
                    logprobs=[],
                    **where,
                ),
            )
        done = {"type": "output_text", "text": self.text, "annotations": []}
        yield (
            False,
            lambda: event("response.output_text.done", text=self.text, logprobs=[], **where),
        )
        yield False, lambda: event("response.content_part.done", part=done, **where)
        item = self._output_item(self.text, "completed")
        yield False, lambda: event("response.output_item.done", output_index=0, item=item)
        yield (
            False,
            lambda: event("response.completed", response=self._response("completed", [item], True)),
        )

    # --- JSON answers -------------------------------------------------------------------
    def _document(self, dialect: str) -> Any:
        if dialect == "count_tokens":
            return {"input_tokens": self.input_tokens}
        if dialect == "anthropic":
            content = [{"type": "text", "text": self.text}]
            content += [{"type": "tool_use", **tool} for tool in self.reply.tool_use]
            return self._anthropic_message(content, self.reply.stop_reason, self.output_tokens)
        if dialect == "chat":
            return {
                "id": f"chatcmpl-fake{self.number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.text, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": self._chat_usage(),
            }
        return self._response("completed", [self._output_item(self.text, "completed")], True)
