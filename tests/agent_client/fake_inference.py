"""A loopback server speaking just enough of the Anthropic and OpenAI APIs for the agent scripts.

It plays the upstream provider behind the platform proxy (paths `/v1/messages`,
`/v1/responses`, `/v1/chat/completions`), and, for testing the client and the agent scripts
on their own, it can also stand in for the whole control plane: it then answers agent-key
with a proxy fallback pointing at itself, proxy-token with `proxy_token` (the agents' hooks
in scoped mode), and serves the proxy's paths (`/ai/anthropic/v1/…`,
`/ai/v1/…`). Streams and JSON answers both; every request is recorded.
"""

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_AGENT_KEY = re.compile(r"^/api/workspaces/[^/]+/agent-key$")
_PROXY_TOKEN = re.compile(r"^/api/workspaces/[^/]+/proxy-token$")
_CONTROL_PLANE = re.compile(r"^/api/workspaces/[^/]+/(agent-key|proxy-token)$")


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def reply_text(dialect: str, model: str) -> str:
    return f"pong from the {dialect} API for {model}"


def _sse(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


def anthropic_answer(model: str, stream: bool) -> Iterator[bytes] | dict[str, Any]:
    text = reply_text("Messages", model)
    usage = {"input_tokens": 5, "output_tokens": 7}
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not stream:
        return message
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 0}}
    return iter(
        [
            _sse("message_start", {"type": "message_start", "message": start}),
            _sse(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            *(
                _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": part},
                    },
                )
                for part in (text[:10], text[10:])
            ),
            _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 7},
                },
            ),
            _sse("message_stop", {"type": "message_stop"}),
        ]
    )


def responses_answer(model: str, stream: bool) -> Iterator[bytes] | dict[str, Any]:
    text = reply_text("Responses", model)
    item = {
        "type": "message",
        "id": "msg_fake",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    response = {
        "id": "resp_fake",
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "model": model,
        "output": [item],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 5,
            "output_tokens": 7,
            "total_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }
    if not stream:
        return response
    delta = {"item_id": "msg_fake", "output_index": 0, "content_index": 0}
    return iter(
        [
            _sse(
                "response.created",
                {
                    "type": "response.created",
                    "sequence_number": 0,
                    "response": {**response, "status": "in_progress", "output": []},
                },
            ),
            _sse(
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": 1,
                    "delta": text[:10],
                    **delta,
                },
            ),
            _sse(
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "sequence_number": 2,
                    "delta": text[10:],
                    **delta,
                },
            ),
            _sse(
                "response.completed",
                {"type": "response.completed", "sequence_number": 3, "response": response},
            ),
        ]
    )


def chat_answer(model: str, stream: bool) -> Iterator[bytes] | dict[str, Any]:
    text = reply_text("Chat Completions", model)
    base = {"id": "chatcmpl-fake", "created": 0, "model": model}
    if not stream:
        return {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        }

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _sse(None, {**base, "object": "chat.completion.chunk", "choices": [choice]})

    return iter(
        [
            chunk({"role": "assistant", "content": text[:10]}, None),
            chunk({"content": text[10:]}, None),
            chunk({}, "stop"),
            _sse(None, "[DONE]"),
        ]
    )


ROUTES = {
    "/v1/messages": anthropic_answer,
    "/v1/responses": responses_answer,
    "/v1/chat/completions": chat_answer,
}
# The platform proxy's own paths, served when standing in for the control plane.
PROXY_ROUTES = {
    "/ai/anthropic/v1/messages": anthropic_answer,
    "/ai/v1/responses": responses_answer,
    "/ai/v1/chat/completions": chat_answer,
}


class FakeInference:
    """The server; `agent_key_answer` set means it also plays the control plane."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.agent_key_answer: dict[str, Any] | None = None
        self.proxy_token: str | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = json.loads(raw or b"{}")
                path = self.path.split("?")[0]
                fake.seen.append(Seen(path, {k.lower(): v for k, v in self.headers.items()}, body))
                if _AGENT_KEY.match(path) and fake.agent_key_answer is not None:
                    return self._json(200, fake.agent_key_answer)
                if _PROXY_TOKEN.match(path) and fake.proxy_token is not None:
                    expires = datetime.now(UTC) + timedelta(hours=1)
                    answer = {"token": fake.proxy_token, "expiresAt": expires.isoformat()}
                    return self._json(200, answer)
                route = fake.route(path)
                if route is None:
                    return self._json(
                        404, {"error": {"message": "no such route", "type": "not_found"}}
                    )
                answer = route(body.get("model", ""), bool(body.get("stream")))
                if isinstance(answer, dict):
                    return self._json(200, answer)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in answer:
                    self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def route(self, path: str) -> Callable[[str, bool], Any] | None:
        if self.agent_key_answer is not None and path in PROXY_ROUTES:
            return PROXY_ROUTES[path]
        return ROUTES.get(path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def inference_requests(self) -> list[Seen]:
        return [seen for seen in self.seen if not _CONTROL_PLANE.match(seen.path)]

    def start(self) -> "FakeInference":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
