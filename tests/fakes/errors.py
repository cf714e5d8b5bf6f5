"""Provider errors as the providers send them: status, body shape, request id and the
headers clients act on. `render(behaviour, dialect, model)` → (status, body, headers).

Anthropic: `{"type": "error", "error": {"type", "message"}, "request_id"}` with a
`request-id` header (`req_011C…`); OpenAI: `{"error": {"message", "type", "param", "code"}}`
with an `x-request-id` header (`req_` + 32 hex digits).
"""

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from tests.fakes.behaviours import Error, Fail, Overloaded, PromptTooLong, RateLimited

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# What the fake's organisation may do per minute (the figures in the rate-limit headers).
REQUESTS_PER_MINUTE = 50
TOKENS_PER_MINUTE = 40_000


def is_anthropic(dialect: str) -> bool:
    return dialect in ("anthropic", "count_tokens")


def request_id(dialect: str) -> str:
    if is_anthropic(dialect):
        return "req_011C" + "".join(secrets.choice(_BASE58) for _ in range(20))
    return "req_" + secrets.token_hex(16)


def request_id_header(dialect: str) -> str:
    return "request-id" if is_anthropic(dialect) else "x-request-id"


def error_body(
    dialect: str,
    error_type: str,
    code: str | None,
    message: str,
    param: str | None = None,
    request: str | None = None,
) -> Any:
    if is_anthropic(dialect):
        body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
        if request:
            body["request_id"] = request
        return body
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def render(
    behaviour: Error, dialect: str, model: str, request: str
) -> tuple[int, Any, dict[str, str]]:
    if isinstance(behaviour, Fail):
        body = error_body(dialect, behaviour.error_type, behaviour.code, behaviour.message)
        return behaviour.status, body, dict(behaviour.headers)
    if isinstance(behaviour, Overloaded):
        return _overloaded(behaviour, dialect, request)
    if isinstance(behaviour, RateLimited):
        return _rate_limited(behaviour, dialect, model, request)
    return _prompt_too_long(behaviour, dialect, request)


def _overloaded(behaviour: Overloaded, dialect: str, request: str) -> tuple[int, Any, dict]:
    if is_anthropic(dialect):
        body = error_body(dialect, "overloaded_error", None, behaviour.message, request=request)
        return 529, body, {"x-should-retry": "true"}
    message = "The server is overloaded or not ready yet."
    return 503, error_body(dialect, "server_error", None, message), {}


def _rate_limited(
    behaviour: RateLimited, dialect: str, model: str, request: str
) -> tuple[int, Any, dict]:
    wait = behaviour.retry_after
    out_of_requests = behaviour.limit == "requests"
    headers = {"retry-after": str(wait)}
    if is_anthropic(dialect):
        reset = datetime.fromtimestamp(int(time.time()) + wait, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for name, limit, exhausted in (
            ("requests", REQUESTS_PER_MINUTE, out_of_requests),
            ("tokens", TOKENS_PER_MINUTE, not out_of_requests),
            ("input-tokens", TOKENS_PER_MINUTE, not out_of_requests),
            ("output-tokens", TOKENS_PER_MINUTE // 5, False),
        ):
            headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = "0" if exhausted else str(limit)
            headers[f"anthropic-ratelimit-{name}-reset"] = reset
        headers["x-should-retry"] = "true"
        what = (
            f"{REQUESTS_PER_MINUTE} requests per minute"
            if out_of_requests
            else f"{TOKENS_PER_MINUTE} input tokens per minute"
        )
        message = (
            f"This request would exceed your organization's rate limit of {what}. "
            "Please try again later."
        )
        return 429, error_body(dialect, "rate_limit_error", None, message, request=request), headers
    for name, limit, exhausted in (
        ("requests", REQUESTS_PER_MINUTE, out_of_requests),
        ("tokens", TOKENS_PER_MINUTE, not out_of_requests),
    ):
        headers[f"x-ratelimit-limit-{name}"] = str(limit)
        headers[f"x-ratelimit-remaining-{name}"] = "0" if exhausted else str(limit)
        headers[f"x-ratelimit-reset-{name}"] = f"{wait}s" if exhausted else "0s"
    unit, limit = ("RPM", REQUESTS_PER_MINUTE) if out_of_requests else ("TPM", TOKENS_PER_MINUTE)
    message = (
        f"Rate limit reached for {model} in organization org-fake on {behaviour.limit} per min "
        f"({unit}): Limit {limit}, Used {limit}, Requested 1. Please try again in {wait}s."
    )
    return 429, error_body(dialect, behaviour.limit, "rate_limit_exceeded", message), headers


def _prompt_too_long(behaviour: PromptTooLong, dialect: str, request: str) -> tuple[int, Any, dict]:
    if is_anthropic(dialect):
        message = f"prompt is too long: {behaviour.tokens} tokens > {behaviour.maximum} maximum"
        return 400, error_body(dialect, "invalid_request_error", None, message, request=request), {}
    if dialect == "responses":
        message = (
            "Your input exceeds the context window of this model. "
            "Please adjust your input and try again."
        )
        param = "input"
    else:
        message = (
            f"This model's maximum context length is {behaviour.maximum} tokens. However, your "
            f"messages resulted in {behaviour.tokens} tokens. Please reduce the length of the "
            "messages."
        )
        param = "messages"
    body = error_body(dialect, "invalid_request_error", "context_length_exceeded", message, param)
    return 400, body, {}


def stream_error(dialect: str, request: str) -> Any:
    """The error a provider reports in place of the rest of a stream (overloaded)."""
    if is_anthropic(dialect):
        return error_body(dialect, "overloaded_error", None, "Overloaded", request=request)
    return error_body(dialect, "server_error", None, "The server had an error while processing.")
