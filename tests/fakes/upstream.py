"""A fake AI provider: a real HTTP server on loopback that speaks enough of the Anthropic
Messages API and of the OpenAI chat completions and Responses APIs for the official SDKs,
streaming and not, and records every request it receives.

Paths (relative to `FakeUpstream.url`, which is also the Anthropic base URL;
`FakeUpstream.openai_url` is the OpenAI base URL):

    POST /v1/messages                 Anthropic Messages, JSON or SSE (`"stream": true`):
                                      message_start (input usage), content_block_start, ping,
                                      content_block_delta…, content_block_stop,
                                      message_delta (output usage), message_stop
    POST /v1/messages/count_tokens    {"input_tokens": n}
    POST /v1/chat/completions         OpenAI chat, JSON or SSE; with
                                      `stream_options.include_usage` a final usage chunk
    POST /v1/responses                OpenAI Responses, JSON or SSE ending in
                                      response.completed with usage

The answer text is "Echo: <text of the last message>" unless scripted. Token counts are
the words of that message (input) and of the answer (output), unless scripted.

Scripting: `answer_next(behaviour)` queues a behaviour for the next request (first in,
first out); `default` is used when the queue is empty.

    Reply(text=…, input_tokens=…, output_tokens=…, chunks=…, chunk_delay=…, delay=…)
    Fail(status=500, error_type="api_error", code=None, headers={…})
    Hang(after_chunks=None)   # never answer; or stream that many chunks, then stall

Recording: `received` (a list of `Received`: method, path, query, headers with lower-case
names, body, `json()`, `peer` (the client's address, one per connection), and
`chunk_times`, the monotonic time each body chunk was sent);
`disconnects` counts clients that went away before the answer was complete, and
`wait_for_disconnect()` waits for the next one. `refused_url()` is an address where
nothing listens.

In tests use the fixtures of `tests.fakes.fixtures`. Standalone (benchmarks):
`python -m tests.fakes.upstream [--delay S] [--chunks N] [--chunk-delay S] [--stamp]`
prints its URL on the first line of stdout and serves until killed.
"""

import argparse
import asyncio
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Reply:
    """A successful answer (the default behaviour)."""

    text: str | None = None  # None: "Echo: " + the last message's text
    input_tokens: int | None = None  # None: words in the last message
    output_tokens: int | None = None  # None: words in the answer
    chunks: int | None = None  # streams: number of text deltas (None: one per word)
    chunk_delay: float = 0.0  # streams: seconds between text deltas
    delay: float = 0.0  # seconds before the response headers
    stamp: bool = False  # streams: each delta's text is the monotonic time it was sent


@dataclass(frozen=True)
class Fail:
    """A provider error in the provider's own shape."""

    status: int = 500
    error_type: str = "api_error"
    code: str | None = None
    message: str = "Detail from the provider that the proxy must not pass on."
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Never answer; or (streams) send `after_chunks` events, then stall. Either way the
    request ends only when the client goes away."""

    after_chunks: int | None = None


Behaviour = Reply | Fail | Hang


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] | None = None  # the client's address: one per connection
    chunk_times: list[float] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


class FakeUpstream:
    def __init__(self, default: Behaviour | None = None):
        self.default: Behaviour = default or Reply()
        self.received: list[Received] = []
        self.disconnects = 0
        self._script: deque[Behaviour] = deque()
        self._disconnected = threading.Condition()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- control --------------------------------------------------------------------
    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def last(self) -> Received:
        return self.received[-1]

    def answer_next(self, *behaviours: Behaviour) -> None:
        self._script.extend(behaviours)

    def reset(self) -> None:
        self.default = Reply()
        self.received.clear()
        self._script.clear()
        with self._disconnected:
            self.disconnects = 0

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """True once a client has gone away mid-answer (counting from the last reset)."""
        with self._disconnected:
            return self._disconnected.wait_for(lambda: self.disconnects > 0, timeout)

    def start(
        self, port: int = 0, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None
    ) -> "FakeUpstream":
        """Serve on loopback; with a certificate and its key, serve HTTPS."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            interface="asgi3",
            timeout_graceful_shutdown=1,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake upstream did not start")
            time.sleep(0.01)
        bound = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{bound}"
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    # --- the ASGI application ---------------------------------------------------------
    async def app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        record = Received(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            body=bytes(body),
            peer=tuple(scope["client"]) if scope.get("client") else None,
        )
        self.received.append(record)
        behaviour = self._script.popleft() if self._script else self.default
        dialect = _dialect(record.path)
        if dialect is None or record.method != "POST":
            await _send_json(send, 404, {"error": {"type": "not_found_error", "message": "?"}})
            return
        try:
            request = json.loads(record.body)
        except ValueError:
            await _send_json(send, 400, _error_body(dialect, "invalid_request_error", None, "?"))
            return
        if isinstance(behaviour, Fail):
            await _send_json(
                send,
                behaviour.status,
                _error_body(dialect, behaviour.error_type, behaviour.code, behaviour.message),
                behaviour.headers,
            )
            return
        await _Answer(self, record, request, behaviour, receive, send).run(dialect)

    def _client_went_away(self) -> None:
        with self._disconnected:
            self.disconnects += 1
            self._disconnected.notify_all()

    def next_id(self) -> int:
        return next(self._ids)


def refused_url() -> str:
    """An http URL on loopback where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _dialect(path: str) -> str | None:
    return {
        "/v1/messages": "anthropic",
        "/v1/messages/count_tokens": "count_tokens",
        "/v1/chat/completions": "chat",
        "/v1/responses": "responses",
    }.get(path)


def _error_body(dialect: str, error_type: str, code: str | None, message: str) -> Any:
    if dialect in ("anthropic", "count_tokens"):
        return {"type": "error", "error": {"type": error_type, "message": message}}
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


async def _send_json(
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


class _Answer:
    """One successful (or hanging) answer, JSON or streamed."""

    def __init__(
        self,
        fake: FakeUpstream,
        record: Received,
        request: dict[str, Any],
        behaviour: Reply | Hang,
        receive: Receive,
        send: Send,
    ):
        self.fake, self.record, self.request = fake, record, request
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
        self.number = fake.next_id()

    async def run(self, dialect: str) -> None:
        gone = asyncio.ensure_future(self.receive())  # completes when the client goes away
        try:
            if self.reply.delay:
                await asyncio.wait({gone}, timeout=self.reply.delay)
            if self.hang is not None and self.hang.after_chunks is None:
                await gone
            if gone.done():
                self.fake._client_went_away()
                return
            stream = self.request.get("stream") is True and dialect != "count_tokens"
            if not stream:
                await _send_json(self.send, 200, self._document(dialect))
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
                self.fake._client_went_away()
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
            return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

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
        for piece in self._deltas():
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
        yield (
            False,
            lambda: event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": self.output_tokens},
                },
            ),
        )
        yield False, lambda: event("message_stop", {"type": "message_stop"})

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
            return f"data: {json.dumps(data)}\n\n".encode()

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
            yield False, lambda: f"data: {json.dumps(usage)}\n\n".encode()
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
            return f"event: {name}\ndata: {json.dumps(document)}\n\n".encode()

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
            return self._anthropic_message(content, "end_turn", self.output_tokens)
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake AI provider on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before headers")
    parser.add_argument("--chunks", type=int, default=None, help="text deltas per stream")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument("--stamp", action="store_true", help="deltas carry their send time")
    options = parser.parse_args()
    fake = FakeUpstream(
        Reply(
            delay=options.delay,
            chunks=options.chunks,
            chunk_delay=options.chunk_delay,
            stamp=options.stamp,
        )
    )
    # Nothing reads the records in this mode; keep memory flat over a long run.
    fake.received = _Discard()
    fake.start(options.port)
    print(fake.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


class _Discard(list[Received]):
    def append(self, item: Received) -> None:
        pass


if __name__ == "__main__":
    main()
