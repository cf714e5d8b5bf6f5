"""A fake AI provider: a real HTTP server on loopback that speaks enough of the Anthropic
Messages API and of the OpenAI chat completions and Responses APIs for the official SDKs,
streaming and not, and records every request it receives.

Paths (relative to `FakeUpstream.url`, which is also the Anthropic base URL;
`FakeUpstream.openai_url` is the OpenAI base URL):

    POST /v1/messages                 Anthropic Messages, JSON or SSE (`"stream": true`):
                                      message_start (input and cache usage),
                                      content_block_start, ping, content_block_delta…,
                                      content_block_stop, tool_use blocks,
                                      message_delta (output usage), message_stop
    POST /v1/messages/count_tokens    {"input_tokens": n}
    POST /v1/chat/completions         OpenAI chat, JSON or SSE, `tool_calls`; with
                                      `stream_options.include_usage` a final usage chunk
    POST /v1/responses                OpenAI Responses, JSON or SSE: reasoning, message and
                                      function_call items, ending in response.completed
                                      with usage

(see `messages_api.py` and `openai_api.py`). The answer text is "Echo: <text of the last
message>" unless scripted. Token counts are the words of that message (input) and of the
answer (output, with tool inputs at bytes / 4), unless scripted; an Anthropic request with
`cache_control` breakpoints reports prompt caching as the API does (`caching.py`: the
first request with a prefix writes it, later ones read it; counts are bytes / 4 of the
prefix). Every answer carries a request id (`request-id` for Anthropic,
`x-request-id` for OpenAI), and errors have the provider's own body shape.

Scripting: `answer_next(behaviour, …)` queues behaviours (first in, first out); with
`key=` they are only for requests that arrive with that upstream key (`x-api-key` or
`Authorization: Bearer`), with `when=` only for requests whose JSON body the predicate
accepts (e.g. `lambda body: "tools" in body`). Each request takes the first queued
behaviour that applies to it, else `key_defaults[key]`, else `default`.

    Reply(text=…, input_tokens=…, output_tokens=…, chunks=…, chunk_delay=…, delay=…,
          tool_use=(…), error_after=…, cache_read=…, cache_write=…, cache_write_1h=…,
          cached_tokens=…, reasoning_tokens=…, reasoning=…)
    Fail(status=500, error_type="api_error", code=None, headers={…})
    Overloaded()  RateLimited(retry_after=30, limit="requests")  PromptTooLong(tokens=…)
    Hang(after_chunks=None)   # never answer; or stream that many chunks, then stall

Recording: `received` (a list of `Received`: method, path, query, headers with lower-case
names, body, `json()`, `key` (the upstream key that arrived), `status` and `request_id`
of the answer, `peer` (the client's address, one per connection), and `chunk_times`, the
monotonic time each body chunk was sent);
`disconnects` counts clients that went away before the answer was complete, and
`wait_for_disconnect()` waits for the next one. `refused_url()` is an address where
nothing listens. `prompt_cache` holds the cached prefixes (`min_tokens`, `clear()`).

In tests use the fixtures of `tests.fakes.fixtures`. Standalone (benchmarks):
`python -m tests.fakes.upstream [--delay S] [--chunks N] [--chunk-delay S] [--stamp]
[--overloaded-key K]` prints its URL on the first line of stdout and serves until killed.
"""

import argparse
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from tests.fakes.answers import Answer, Receive, Send, send_json
from tests.fakes.behaviours import (
    Behaviour,
    Fail,
    Hang,
    Overloaded,
    PromptTooLong,
    RateLimited,
    Received,
    Reply,
)
from tests.fakes.caching import PromptCache
from tests.fakes.errors import error_body, render, request_id, request_id_header

__all__ = [
    "Fail",
    "FakeUpstream",
    "Hang",
    "Overloaded",
    "PromptTooLong",
    "RateLimited",
    "Received",
    "Reply",
    "refused_url",
]

Predicate = Callable[[Any], bool]


class _Scripted:
    def __init__(self, behaviour: Behaviour, key: str | None, when: Predicate | None):
        self.behaviour, self.key, self.when = behaviour, key, when

    def applies(self, key: str | None, body: Any) -> bool:
        if self.key is not None and key != self.key:
            return False
        return self.when is None or bool(self.when(body))


class FakeUpstream:
    def __init__(self, default: Behaviour | None = None):
        self.default: Behaviour = default or Reply()
        self.key_defaults: dict[str, Behaviour] = {}
        self.received: list[Received] = []
        self.disconnects = 0
        self.prompt_cache = PromptCache()
        self._script: list[_Scripted] = []
        self._script_lock = threading.Lock()
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

    def answer_next(
        self, *behaviours: Behaviour, key: str | None = None, when: Predicate | None = None
    ) -> None:
        with self._script_lock:
            self._script.extend(_Scripted(behaviour, key, when) for behaviour in behaviours)

    def reset(self) -> None:
        self.default = Reply()
        self.key_defaults.clear()
        self.received.clear()
        self.prompt_cache = PromptCache()
        with self._script_lock:
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
        dialect = _dialect(record.path)
        if dialect is None or record.method != "POST":
            record.status = 404
            await send_json(send, 404, {"error": {"type": "not_found_error", "message": "?"}})
            return
        record.request_id = request_id(dialect)
        headers = {request_id_header(dialect): record.request_id}
        try:
            request = json.loads(record.body)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            record.status = 400
            body = error_body(dialect, "invalid_request_error", None, "?")
            await send_json(send, 400, body, headers)
            return
        behaviour = self._behaviour_for(record.key, request)
        if isinstance(behaviour, Fail | Overloaded | RateLimited | PromptTooLong):
            model = str(request.get("model", ""))
            status, body, extra = render(behaviour, dialect, model, record.request_id)
            record.status = status
            await send_json(send, status, body, {**extra, **headers})
            return
        answer = Answer(
            self._next_id(),
            self._client_went_away,
            record,
            request,
            behaviour,
            receive,
            send,
            self.prompt_cache,
            headers,
            dialect,
        )
        await answer.run()

    def _behaviour_for(self, key: str | None, body: Any) -> Behaviour:
        with self._script_lock:
            for index, scripted in enumerate(self._script):
                if scripted.applies(key, body):
                    del self._script[index]
                    return scripted.behaviour
        if key is not None and key in self.key_defaults:
            return self.key_defaults[key]
        return self.default

    def _client_went_away(self) -> None:
        with self._disconnected:
            self.disconnects += 1
            self._disconnected.notify_all()

    def _next_id(self) -> int:
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake AI provider on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before headers")
    parser.add_argument("--chunks", type=int, default=None, help="text deltas per stream")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument("--stamp", action="store_true", help="deltas carry their send time")
    parser.add_argument(
        "--overloaded-key",
        default=None,
        help="answer requests with this key 529 at once, with retry-after: 0",
    )
    options = parser.parse_args()
    fake = FakeUpstream(
        Reply(
            delay=options.delay,
            chunks=options.chunks,
            chunk_delay=options.chunk_delay,
            stamp=options.stamp,
        )
    )
    if options.overloaded_key:
        fake.key_defaults[options.overloaded_key] = Fail(
            529, "overloaded_error", headers={"retry-after": "0"}
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
