import asyncio
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found, server_error

from ai_proxy import views as proxy_views
from ai_proxy.errors import BadRequest, PayloadTooLarge, ProxyError, RouteNotFound, error_response
from catalog.routes import dialect_of

logger = logging.getLogger(__name__)

_API_PREFIXES = ("/api/", "/ai/")

# Readiness answers within this many seconds whatever the database or the cache do: a
# database that is gone can keep a pooled connection request waiting far longer.
READY_TIMEOUT = 2.0
# Each check runs on threads of its own, so a stuck check never holds up the other, nor the
# event loop's default executor (the proxy resolves host names there).
_database_probe = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ready-db")
_cache_probe = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ready-cache")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unhealthy"}, status=503)
    return JsonResponse({"status": "healthy"})


def _database_answers() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()  # back to the pool: this thread serves no request


class CacheMismatch(Exception):
    """The cache accepted a value and gave back something else."""


def _cache_answers() -> None:
    key, value = f"health:ready:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, timeout=5)
    if cache.get(key) != value:
        raise CacheMismatch


async def _probe(executor: ThreadPoolExecutor, check: Callable[[], None]) -> str | None:
    """None when the check passed in time, else the name of what went wrong."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(executor, check), READY_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as error:  # any failure means "not ready"; its type is logged
        return type(error).__name__
    return None


@never_cache
@require_GET
async def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers a query and the cache a set and get of a fresh key."""
    database, cache_error = await asyncio.gather(
        _probe(_database_probe, _database_answers), _probe(_cache_probe, _cache_answers)
    )
    if database is None and cache_error is None:
        return JsonResponse({"status": "ready"})
    # The exception's type only: messages can carry connection details.
    logger.warning("health.unready", extra={"database_error": database, "cache_error": cache_error})
    return JsonResponse(
        {
            "status": "unready",
            "database": "ok" if database is None else "unreachable",
            "cache": "ok" if cache_error is None else "unreachable",
        },
        status=503,
    )


def _api_path(request: HttpRequest) -> str | None:
    """The request's path if it is under /api/ or /ai/, with repeated leading slashes
    folded (`//ai/v1/models` reaches Django's handler, not the proxy's); else None."""
    path = "/" + request.path.lstrip("/")
    return path if path.startswith(_API_PREFIXES) or path in ("/api", "/ai") else None


def _api_error(path: str, error: ProxyError) -> HttpResponse:
    """An API error: in the proxy's dialects under /ai/, in the API's own shape under /api/."""
    if path == "/ai" or path.startswith("/ai/"):
        return error_response(dialect_of(path), error)
    return JsonResponse({"error": error.code, "message": error.message}, status=error.status)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    path = _api_path(request)
    if path is None:
        return page_not_found(request, exception)
    return _api_error(path, RouteNotFound())


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """What Django refuses before or while a view reads the request (SuspiciousOperation):
    a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, anything else a 400."""
    path = _api_path(request)
    if path is None:
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _api_error(path, PayloadTooLarge())
    return _api_error(path, BadRequest("The request was refused as malformed."))


def server_failure(request: HttpRequest) -> HttpResponseBase:
    if request.path.startswith("/ai/"):
        return proxy_views.server_failure(request)
    if request.path.startswith(_API_PREFIXES):
        return JsonResponse(
            {
                "error": "internal_error",
                "message": "The server failed; the request id is in the logs.",
            },
            status=500,
        )
    return server_error(request)
