import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from sam_project.logs import request_id_var

logger = logging.getLogger("sam.http")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class request_id_middleware:
    """Give every request an id (the client's `X-Request-ID` if sane), echo it, and log one
    `http.request` line (method, path without query string, status, duration).

    Natively sync and async, so the proxy's async views do not pay for a thread switch.
    """

    sync_capable = True
    async_capable = True
    log_requests = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _start(self, request: HttpRequest) -> tuple[str, float]:
        offered = request.headers.get("X-Request-ID", "")
        rid = offered if _CLIENT_REQUEST_ID.match(offered) else uuid.uuid4().hex
        # Not reset on the way out: a streamed body is sent after the view returns, in the
        # same task, and its log lines still belong to this request.
        request_id_var.set(rid)
        return rid, time.perf_counter()

    def _finish(
        self, request: HttpRequest, response: HttpResponse, rid: str, started: float
    ) -> None:
        response["X-Request-ID"] = rid
        if not self.log_requests:
            return
        logger.info(
            "http.request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        rid, started = self._start(request)
        response = self.get_response(request)
        self._finish(request, response, rid, started)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        rid, started = self._start(request)
        response = await self.get_response(request)
        self._finish(request, response, rid, started)
        return response


class proxy_request_id_middleware(request_id_middleware):
    """The request id for /ai/ (see AI_PROXY_MIDDLEWARE), without the `http.request` line:
    the proxy writes its own, `ai_proxy.request`, with more in it."""

    log_requests = False
