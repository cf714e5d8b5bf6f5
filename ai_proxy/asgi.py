"""The ASGI handler that serves /ai/ (see `sam_project.asgi`): Django's own, less the two
things the "server CPU per request" row of `bench/proxy_overhead.py` cannot afford:

- the per-request thread context (`ThreadSensitiveContext`), in which Django starts a new
  thread for every request that does any sync work;
- the `request_started` / `request_finished` signals, whose receivers run on that thread to
  open and close per-request database connections (the proxy uses its own, `ai_proxy.db`);
- the thread handoff Django makes to log an error answer: the proxy's refusals are logged
  by its own request line, and the rest is logged here without leaving the event loop.

Together they cost about 1.1 ms of CPU per request, three times a bare aiohttp relay's whole
request. The middleware is the proxy's own short, natively async list
(`AI_PROXY_MIDDLEWARE`): the browser pages' middleware (sessions, CSRF, auth, messages) is
sync, and each one would cost two thread handoffs per request here. Everything else —
request parsing, URL resolution, views, responses, disconnect handling — is Django's.
"""

import asyncio
import contextlib
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix, set_urlconf
from django.utils.log import log_response


class ProxyASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        original = settings.MIDDLEWARE
        try:
            settings.MIDDLEWARE = settings.AI_PROXY_MIDDLEWARE
            super().load_middleware(is_async=True)
        finally:
            settings.MIDDLEWARE = original

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Django's `BaseHandler.get_response_async`, logging an error answer in place."""
        set_urlconf(settings.ROOT_URLCONF)
        response = await self._middleware_chain(request)  # type: ignore[attr-defined]
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        return response

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"The AI proxy serves HTTP only, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        """Django's `ASGIHandler.handle`, without the request signals."""
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
            with contextlib.suppress(asyncio.CancelledError):  # the client went away
                await self.send_response(response, send)

        # As in Django, a client that disconnects cancels the response, which closes the
        # upstream request or stream it was waiting on.
        watcher = asyncio.create_task(self.listen_for_disconnect(receive))
        responder = asyncio.create_task(respond())
        try:
            await asyncio.wait({watcher, responder}, return_when=asyncio.FIRST_COMPLETED)
            for task in (watcher, responder):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
        finally:
            body_file.close()
