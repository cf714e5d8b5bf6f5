"""The proxy's errors, and the one place that renders them in each API dialect's shape.

Clients are the providers' own SDKs and CLIs, which parse errors in their provider's shape:
Anthropic `{"type": "error", "error": {"type", "message"}}`, OpenAI
`{"error": {"message", "type", "param", "code"}}`. The proxy's own messages never quote a
key or a token; an upstream's refusal is passed on as the upstream sent it (agents act on
the provider's words: Claude Code compacts on "prompt is too long") and never logged.
"""

import json
import re
from collections.abc import Mapping

from django.http import HttpResponse

from catalog.routes import Dialect


class ProxyError(Exception):
    """A refusal or failure answered to the client. `code` is stable, for machines and logs;
    `error_type` is the provider-style type the client's SDK maps to an exception class."""

    status = 500
    code = "internal_error"
    error_type = "api_error"
    message = "The AI proxy failed."
    # Extra facts for the error object (a limit's figures); SDKs keep keys they do not know.
    details: Mapping[str, object] = {}

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type
        self.headers = headers or {}
        super().__init__(self.code)

    def content(self, dialect: Dialect) -> tuple[bytes, str]:
        """The body of the error answer, and its content type."""
        return json.dumps(error_document(dialect, self)).encode(), "application/json"


class ProxyDisabled(ProxyError):
    status, code, error_type = 503, "proxy_disabled", "api_error"
    message = "The platform AI proxy is turned off."


class InvalidToken(ProxyError):
    status, code, error_type = 401, "invalid_token", "authentication_error"
    message = "Unknown token."


class InsufficientScope(ProxyError):
    status, code, error_type = 403, "insufficient_scope", "permission_error"
    message = "This token cannot call the AI proxy."


class BadRequest(ProxyError):
    status, code, error_type = 400, "bad_request", "invalid_request_error"


class ModelNotAllowed(ProxyError):
    status, code, error_type = 400, "model_not_allowed", "invalid_request_error"


class PayloadTooLarge(ProxyError):
    status, code, error_type = 413, "payload_too_large", "request_too_large"
    message = "The request body is too large."


class RouteNotFound(ProxyError):
    status, code, error_type = 404, "not_found", "not_found_error"
    message = "No such endpoint."


class MethodNotAllowed(ProxyError):
    status, code, error_type = 405, "method_not_allowed", "invalid_request_error"


class UpstreamKeyMissing(ProxyError):
    status, code, error_type = 503, "upstream_key_missing", "api_error"


class CredentialUnreadable(ProxyError):
    status, code, error_type = 503, "credential_unreadable", "api_error"
    message = (
        "The platform credential for this provider cannot be decrypted; an admin must "
        "restore the encryption key or replace the credential."
    )

    def __init__(self, *, credential_id: int):
        super().__init__()
        self.credential_id = credential_id


class UpstreamUnreachable(ProxyError):
    status, code, error_type = 502, "upstream_unreachable", "api_error"
    message = "The upstream provider could not be reached."


class UpstreamTimeout(ProxyError):
    status, code, error_type = 504, "upstream_timeout", "timeout_error"
    message = "The upstream provider did not answer in time."


class UpstreamKeysCooling(ProxyError):
    """Every platform key of the provider is cooling down after a 429 or 529: the client is
    told to come back when the first of them may be used again."""

    code = "upstream_keys_cooling"

    def __init__(self, *, provider: str, status: int, retry_after: int):
        error_type = "overloaded_error" if status == 529 else "rate_limit_error"
        super().__init__(
            f"Every platform key for the {provider} provider is at its provider's limit; "
            f"retry in {retry_after} s.",
            status=status,
            error_type=error_type,
            headers={"Retry-After": str(retry_after)},
        )
        self.details = {"retry_after": retry_after}


class UpstreamKeysRefused(ProxyError):
    status, code, error_type = 503, "upstream_keys_refused", "api_error"

    def __init__(self, *, provider: str):
        super().__init__(
            f"The {provider} provider refused every platform key; an admin must reset or "
            "replace one."
        )


class UpstreamAnswered(ProxyError):
    """The upstream answered non-2xx: the client gets that answer as it came — status, body,
    content type and the headers clients act on (`UPSTREAM_ERROR_HEADERS`). `error_type`
    (for the log line) is read from the body when it looks like an identifier."""

    code = "upstream_error"

    def __init__(self, *, status: int, body: bytes, content_type: str, headers: dict[str, str]):
        super().__init__(
            f"The upstream provider answered {status}.",
            status=status,
            error_type=_upstream_error_type(body) or "api_error",
            headers=headers,
        )
        self.body, self.content_type = body, content_type

    def content(self, dialect: Dialect) -> tuple[bytes, str]:
        return self.body, self.content_type


_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _upstream_error_type(body: bytes) -> str | None:
    try:
        error = json.loads(body)["error"]
        value = error.get("type") if isinstance(error, dict) else None
    except (ValueError, RecursionError, LookupError, TypeError):
        return None
    return value if isinstance(value, str) and _IDENTIFIER.match(value) else None


class LimitReached(ProxyError):
    """A 429 for a rate limit or a daily budget, with the figures and when it resets.
    Both SDKs raise their `RateLimitError` for it; `Retry-After` says when to come back."""

    status, error_type = 429, "rate_limit_error"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retry_after: int,
        used: object = None,
        limit: object = None,
        headers: dict[str, str] | None = None,
        **extra: object,
    ):
        self.code = code
        super().__init__(message, headers={**(headers or {}), "Retry-After": str(retry_after)})
        self.details = {"used": used, "limit": limit, "retry_after": retry_after, **extra}


# The Anthropic dialect has types of its own for some statuses; OpenAI uses these names.
_OPENAI_TYPES = {
    "authentication_error": "invalid_request_error",
    "permission_error": "invalid_request_error",
    "not_found_error": "invalid_request_error",
    "request_too_large": "invalid_request_error",
    "timeout_error": "server_error",
    "api_error": "server_error",
    "rate_limit_error": "rate_limit_exceeded",
}


def error_document(dialect: Dialect, error: ProxyError) -> dict[str, object]:
    details = error.details
    if dialect is Dialect.ANTHROPIC:
        return {
            "type": "error",
            "error": {"type": error.error_type, "message": error.message, **details},
        }
    return {
        "error": {
            "message": error.message,
            "type": _OPENAI_TYPES.get(error.error_type, error.error_type),
            "param": None,
            "code": error.code,
            **details,
        }
    }


def error_response(dialect: Dialect, error: ProxyError) -> HttpResponse:
    content, content_type = error.content(dialect)
    response = HttpResponse(content, status=error.status, content_type=content_type)
    response["Content-Length"] = str(len(content))
    for name, value in error.headers.items():
        response[name] = value
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="sam"'
    return response


def refusal_response(dialect: Dialect, error: ProxyError) -> HttpResponse:
    """`error_response` for an error the proxy's own `ai_proxy.request` line reports, so
    Django does not log it a second time."""
    response = error_response(dialect, error)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def stream_error_event(dialect: Dialect, error: ProxyError) -> bytes:
    """An error after the stream has started (the status is already sent), as an SSE event
    the dialect's SDKs raise on."""
    data = json.dumps(error_document(dialect, error))
    if dialect is Dialect.ANTHROPIC:
        return f"event: error\ndata: {data}\n\n".encode()
    return f"data: {data}\n\n".encode()
