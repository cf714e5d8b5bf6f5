"""What the fake provider is told to do next, and what it records (see `upstream.py`).

Answers: `Reply` (success, JSON or streamed), `Hang`. Errors, each rendered in the shape of
the dialect that was called (`errors.py`): `Fail` (any status and type), `Overloaded`
(Anthropic 529 `overloaded_error`), `RateLimited` (429 with `retry-after` and the
provider's rate-limit headers), `PromptTooLong` (400, the provider's context-length error).
"""

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A successful answer (the default behaviour)."""

    text: str | None = None  # None: "Echo: " + the last message's text
    input_tokens: int | None = None  # None: words in the last message (OpenAI: + cached)
    output_tokens: int | None = None  # None: words in the answer, reasoning, tool input
    chunks: int | None = None  # streams: number of text deltas (None: one per word)
    chunk_delay: float = 0.0  # streams: seconds between text deltas
    delay: float = 0.0  # seconds before the response headers
    stamp: bool = False  # streams: each delta's text is the monotonic time it was sent
    # How the answer ends (Anthropic's names; chat maps them to finish reasons), tool calls
    # after the text ({"id", "name", "input"}: Anthropic `tool_use` blocks, chat
    # `tool_calls`, Responses `function_call` items), and a stream that reports an error
    # event after this many text deltas.
    stop_reason: str = "end_turn"
    tool_use: tuple[dict[str, Any], ...] = ()
    error_after: int | None = None
    # Anthropic prompt caching. None everywhere: computed from the request's
    # `cache_control` breakpoints (see `caching.py`); any of them given: exactly these.
    cache_read: int | None = None
    cache_write: int | None = None  # 5-minute writes
    cache_write_1h: int | None = None
    # OpenAI: `cached_tokens` of the prompt and `reasoning_tokens` of the output.
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    # Responses: a reasoning item before the message, with this summary text.
    reasoning: str | None = None

    @property
    def scripts_cache(self) -> bool:
        return (self.cache_read, self.cache_write, self.cache_write_1h) != (None, None, None)


@dataclass(frozen=True)
class Fail:
    """A provider error in the provider's own shape."""

    status: int = 500
    error_type: str = "api_error"
    code: str | None = None
    message: str = "Detail from the provider that the proxy must not pass on."
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Overloaded:
    """Anthropic's 529 `overloaded_error` (OpenAI, which has no 529: 503 `server_error`)."""

    message: str = "Overloaded"


@dataclass(frozen=True)
class RateLimited:
    """429 with `retry-after` and the rate-limit headers of the provider: Anthropic
    `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
    (reset as an RFC 3339 time), OpenAI `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
    (reset as a duration such as "7s"). `limit` is the one exhausted: "requests" or "tokens"."""

    retry_after: int = 30
    limit: str = "requests"


@dataclass(frozen=True)
class PromptTooLong:
    """400 for a prompt over the context window: Anthropic `invalid_request_error` "prompt
    is too long: N tokens > M maximum", OpenAI `context_length_exceeded`."""

    tokens: int = 210_000
    maximum: int = 200_000


@dataclass(frozen=True)
class Hang:
    """Never answer; or (streams) send `after_chunks` events, then stall. Either way the
    request ends only when the client goes away."""

    after_chunks: int | None = None


Error = Fail | Overloaded | RateLimited | PromptTooLong
Behaviour = Reply | Hang | Error


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int] | None = None  # the client's address: one per connection
    chunk_times: list[float] = field(default_factory=list)
    status: int | None = None  # the status the fake answered
    request_id: str = ""  # the `request-id` / `x-request-id` the fake sent back

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str | None:
        """The upstream key that arrived: `x-api-key`, else the `Authorization: Bearer` token."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None
