"""The deploy test's clients: users calling agent-key and the AI proxy through nginx, the way
agents do, each call with a timeout, each outcome written down.

Every proxy request carries a marker, a number unique in the run, as the length of its
prompt in words ("w w w …"). The fake provider counts input tokens as the words of the last
message, so the usage record of that request says `input_tokens == marker` (and
`output_tokens == marker + 1`, the words of "Echo: w w …"): records and answers can be
matched one by one, without looking inside the server.
"""

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

# Longest wait for a connection, and for each read or write: no call can hang for longer.
CALL_TIMEOUT = 15.0
TIMEOUT = httpx.Timeout(CALL_TIMEOUT, connect=5.0)

SUCCESS, REFUSED, BROKEN, HANG = "success", "refused", "broken", "hang"


@dataclass
class Outcome:
    user: str
    kind: str
    marker: int | None  # None: not a proxy request (agent-key)
    started: float  # time.monotonic()
    result: str = BROKEN  # SUCCESS: 2xx and a complete body; REFUSED: any other answer
    status: int | None = None
    served_by: str = ""  # the instance nginx passed it to (X-Served-By)
    window: int | None = None  # the end (epoch seconds) of the rate-limit window it fell in
    error: str = ""


@dataclass
class User:
    name: str
    workspace_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Load:
    """Shared by the clients of one run: the markers, every outcome, and what is to happen
    the moment a client has received the final event of a streamed answer
    (`on_final_event`)."""

    base_url: str
    outcomes: list[Outcome] = field(default_factory=list)
    on_final_event: Callable[[Outcome], None] = lambda outcome: None
    _markers: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def marker(self) -> int:
        with self._lock:
            return next(self._markers)

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)


KINDS = ("messages", "messages-stream", "chat", "chat-stream", "agent-key")


def call(load: Load, client: httpx.Client, user: User, kind: str) -> Outcome:
    """One request of `kind`, read to its end; never raises."""
    marker = None if kind == "agent-key" else load.marker()
    outcome = Outcome(user=user.name, kind=kind, marker=marker, started=time.monotonic())
    try:
        if kind == "agent-key":
            response = client.post(
                f"/api/workspaces/{user.workspace_id}/agent-key",
                json={"agentType": "claude-code"},
                headers=user.headers,
            )
            _note(outcome, response)
            complete = response.status_code == 200 and "apiKey" in response.json()
        else:
            assert marker is not None
            path, body = _proxy_request(kind, marker)
            with client.stream("POST", path, json=body, headers=user.headers) as response:
                _note(outcome, response)
                if kind.endswith("-stream") and response.status_code == 200:
                    complete = _read_stream(load, outcome, response)
                else:
                    response.read()
                    complete = response.status_code == 200 and _answer_complete(
                        kind, response.json(), marker
                    )
        if 200 <= (outcome.status or 0) < 300:
            outcome.result = SUCCESS if complete else BROKEN
        else:
            outcome.result = REFUSED
    except httpx.TimeoutException as error:
        outcome.result, outcome.error = HANG, type(error).__name__
    except (httpx.TransportError, ValueError, KeyError, IndexError, TypeError) as error:
        outcome.result, outcome.error = BROKEN, type(error).__name__
    load.record(outcome)
    return outcome


def _note(outcome: Outcome, response: httpx.Response) -> None:
    outcome.status = response.status_code
    outcome.served_by = response.headers.get("X-Served-By", "")
    reset = response.headers.get("X-RateLimit-Reset")
    if reset is not None:
        # The server's window ends `reset` seconds after it counted the request, on a whole
        # minute: round to the nearest one (the answer's delay is far below 30 s).
        outcome.window = round((time.time() + int(reset)) / 60) * 60


def _proxy_request(kind: str, marker: int) -> tuple[str, dict[str, Any]]:
    prompt = " ".join(["w"] * marker)
    stream = kind.endswith("-stream")
    if kind.startswith("messages"):
        return "/ai/anthropic/v1/messages", {
            "model": "claude-haiku-4-5",
            "max_tokens": 64,
            "stream": stream,
            "messages": [{"role": "user", "content": prompt}],
        }
    return "/ai/v1/chat/completions", {
        "model": "gpt-4.1-mini",
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    }


def _answer_complete(kind: str, document: Any, marker: int) -> bool:
    echo = "Echo: " + " ".join(["w"] * marker)
    if kind == "messages":
        return document["content"][0]["text"] == echo
    return document["choices"][0]["message"]["content"] == echo


def _read_stream(load: Load, outcome: Outcome, response: httpx.Response) -> bool:
    """Read a stream to its end. It is complete once its final event has arrived after the
    whole echo (`message_stop`, or chat's `[DONE]`): what comes after that (the end of the
    HTTP body) may be lost to a dying server without the client missing anything."""
    assert outcome.marker is not None
    echo = "Echo: " + " ".join(["w"] * outcome.marker)
    text, final = "", False
    try:
        for line in response.iter_lines():
            if not line.startswith("data: ") or final:
                continue
            data = line[len("data: ") :]
            if data == "[DONE]":
                final = outcome.kind == "chat-stream"
            else:
                event = json.loads(data)
                text += _delta_text(event)
                final = event.get("type") == "message_stop"
            if final:
                final = text == echo
                if final:
                    load.on_final_event(outcome)
    except httpx.TransportError:
        if not final:
            raise
    return final


def _delta_text(event: Any) -> str:
    if event.get("type") == "content_block_delta":
        return str(event["delta"].get("text", ""))
    for choice in event.get("choices") or []:
        return str((choice.get("delta") or {}).get("content") or "")
    return ""


def run_client(load: Load, user: User, kinds: list[str], until: float) -> None:
    """Call through `kinds` in turn until the monotonic time `until`."""
    with httpx.Client(base_url=load.base_url, timeout=TIMEOUT) as client:
        for kind in itertools.cycle(kinds):
            if time.monotonic() >= until:
                return
            call(load, client, user, kind)


def run_burst(load: Load, user: User, count: int) -> None:
    """`count` JSON proxy requests, one after the other."""
    with httpx.Client(base_url=load.base_url, timeout=TIMEOUT) as client:
        for _ in range(count):
            call(load, client, user, "messages")
