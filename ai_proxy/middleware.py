"""The proxy's own middleware (see `AI_PROXY_MIDDLEWARE`): natively async, so a request
under /ai/ pays no thread handoff for it."""

import logging
from collections.abc import Awaitable, Callable

from asgiref.sync import markcoroutinefunction
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from ai_proxy.errors import BadRequest, error_response
from catalog.routes import dialect_of

security_logger = logging.getLogger("django.security.DisallowedHost")


class allowed_hosts_middleware:
    """Django's host validation (`ALLOWED_HOSTS`), answered in the route's dialect."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            request.get_host()
        except DisallowedHost:
            security_logger.warning("ai_proxy.disallowed_host")
            refusal = BadRequest("The Host header is not one this server answers to.")
            return error_response(dialect_of(request.path), refusal)
        return await self.get_response(request)
