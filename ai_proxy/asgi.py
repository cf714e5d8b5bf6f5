"""The ASGI handler that serves /ai/ (see `sam_project.asgi`).

Django's own handler, minus what costs more than the proxy's work on its hot path:

- no per-request thread context: Django gives each request its own thread for sync work
  and joins it afterwards. The proxy's few reads need no thread on the common path and
  otherwise run on one long-lived thread (`ai_proxy.admission`, `ai_proxy.dbthread`);
- no request_started / request_finished signals: their receivers open and close the
  per-request database connections the line above does away with;
- a lean middleware chain, natively async only. The project's other middleware (sessions,
  CSRF, auth, messages, …) serve the browser pages, and each one, being sync-first, would
  cost a thread switch per request here;
- the request body is kept up to `AI_PROXY_MAX_BODY_BYTES` + 1 bytes, enough for the view to
  answer 413, instead of being spooled to disk whatever its size.
"""

import asyncio
import contextlib
import tempfile
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix
from django.utils.module_loading import import_string

MIDDLEWARE = ("sam_project.middleware.request_id_middleware",)
# How long, after the response is out, the disconnect watcher may take to return.
_WATCHER_GRACE = 1.0


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

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"The AI proxy serves HTTP only, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            assert error_response is not None  # create_request returns one of the two
            await self.send_response(error_response, send)
            return

        async def respond() -> None:
            response = await self.run_get_response(request)
            # The client may go away while the response is being sent.
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)

        # As in Django, a client that disconnects cancels the response, which closes the
        # upstream request or stream it was waiting on. Unlike Django, the watcher is not
        # cancelled once the response is out: the server's receive() returns by itself then,
        # and a cancelled task per request would leave reference cycles (task, exception,
        # traceback, frames, the request) for the garbage collector's slow passes.
        watcher = asyncio.create_task(receive())
        responder = asyncio.create_task(respond())
        try:
            await asyncio.wait({watcher, responder}, return_when=asyncio.FIRST_COMPLETED)
            if responder.done():
                responder.result()
                await asyncio.wait({watcher}, timeout=_WATCHER_GRACE)
            else:
                responder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await responder
        finally:
            if not watcher.done():  # a server whose receive() waits for the next request
                watcher.cancel()
            body_file.close()

    async def read_body(self, receive: Any) -> Any:
        keep = settings.AI_PROXY_MAX_BODY_BYTES + 1
        # Returned open, as Django's own read_body does; handle() closes it.
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
