"""What the fake provider is told to do next, and what it records (see `upstream.py`)."""

import json
from dataclasses import dataclass, field
from typing import Any


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
    # Anthropic only: how the answer ends, tool calls after the text ({"id", "name",
    # "input"}), and a stream that reports an error event after this many text deltas.
    stop_reason: str = "end_turn"
    tool_use: tuple[dict[str, Any], ...] = ()
    error_after: int | None = None


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
