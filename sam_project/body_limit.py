"""A cap on request bodies, before Django reads them.

Django's ASGI handler reads a whole body before any view runs, spooling it to a temporary
file past 2.5 MB, and checks `DATA_UPLOAD_MAX_MEMORY_SIZE` only when a view reads it — so
an anonymous client could make the server write any amount to disk before its 401. Here a
body over its path's cap is refused with a 413 as soon as it is announced (Content-Length)
or, when it is sent without one, as soon as it passes the cap; nothing more is read.
"""

import json
from typing import Any

from django.conf import settings

from ai_proxy.errors import PayloadTooLarge, error_document
from catalog.routes import dialect_of

_API_PREFIX = "/api/"
_PROXY_PREFIX = "/ai/"


def body_cap(path: str) -> int | None:
    """The largest body a request to `path` may carry (None: no cap)."""
    if path.startswith(_PROXY_PREFIX):
        return int(settings.AI_PROXY_MAX_BODY_BYTES)
    cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return None if cap is None else int(cap)


def _declared_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _refusal(path: str, cap: int) -> tuple[bytes, bytes]:
    message = f"The request body is larger than {cap} bytes."
    if path.startswith(_PROXY_PREFIX):
        document: Any = error_document(dialect_of(path), PayloadTooLarge(message))
    elif path.startswith(_API_PREFIX):
        document = {"error": "payload_too_large", "message": message}
    else:
        return message.encode(), b"text/plain; charset=utf-8"
    return json.dumps(document).encode(), b"application/json"


async def _refuse(scope: dict[str, Any], send: Any, cap: int) -> None:
    body, content_type = _refusal(scope["path"], cap)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: the app sees at most `body_cap(path)` bytes of any request body."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        cap = body_cap(scope["path"]) if scope["type"] == "http" else None
        if cap is None:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > cap:
            await _refuse(scope, send, cap)
            return
        received = 0
        refused = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    await _refuse(scope, send, cap)
                    # The app stops reading as if the client had gone.
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, limited_receive, send)
