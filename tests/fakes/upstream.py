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
import itertools
import json
import socket
import threading
import time
from collections import deque
from typing import Any

import uvicorn

from tests.fakes.answers import Answer, Receive, Send, error_body, send_json
from tests.fakes.behaviours import Behaviour, Fail, Hang, Received, Reply

__all__ = ["Fail", "FakeUpstream", "Hang", "Received", "Reply", "refused_url"]


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
            await send_json(send, 404, {"error": {"type": "not_found_error", "message": "?"}})
            return
        try:
            request = json.loads(record.body)
        except ValueError:
            await send_json(send, 400, error_body(dialect, "invalid_request_error", None, "?"))
            return
        if isinstance(behaviour, Fail):
            await send_json(
                send,
                behaviour.status,
                error_body(dialect, behaviour.error_type, behaviour.code, behaviour.message),
                behaviour.headers,
            )
            return
        answer = Answer(
            self._next_id(), self._client_went_away, record, request, behaviour, receive, send
        )
        await answer.run(dialect)

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
