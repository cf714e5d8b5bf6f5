"""The ASGI handler that serves /ai/ (see `sam_project.asgi`).

Django's handler, with two differences that matter on the proxy's hot path:

- a lean middleware chain of natively async middleware only. The project's other
  middleware (sessions, CSRF, auth, messages, …) serve the browser pages, and each one,
  being sync-first, would cost a thread switch per request here;
- the request body is kept up to `AI_PROXY_MAX_BODY_BYTES` + 1 bytes, enough for the view to
  answer 413, instead of being spooled to disk whatever its size.
"""

import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string

MIDDLEWARE = ("sam_project.middleware.request_id_middleware",)


class ProxyASGIHandler(ASGIHandler):
    middleware = MIDDLEWARE

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response_async)  # type: ignore[attr-defined]
        for dotted_path in reversed(self.middleware):
            factory = import_string(dotted_path)
            if not getattr(factory, "async_capable", False):
                raise ImproperlyConfigured(f"{dotted_path} is not natively async.")
            handler = convert_exception_to_response(factory(handler))
        self._middleware_chain = handler

    async def read_body(self, receive: Any) -> Any:
        keep = settings.AI_PROXY_MAX_BODY_BYTES + 1
        # Returned open, as Django's own read_body does; the handler closes it.
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        kept = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            chunk = message.get("body", b"")
            if chunk and kept < keep:
                chunk = chunk[: keep - kept]
                body_file.write(chunk)
                kept += len(chunk)
            # The rest of an oversized body is read and dropped, so the connection stays
            # in a state where the 413 can be sent.
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file
