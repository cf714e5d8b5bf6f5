from django.contrib.staticfiles.views import serve
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found, server_error

from ai_proxy import views as proxy_views
from ai_proxy.errors import BadRequest, PayloadTooLarge, ProxyError, RouteNotFound, error_response
from catalog.routes import dialect_of

_API_PREFIXES = ("/api/", "/ai/")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unhealthy"}, status=503)
    return JsonResponse({"status": "healthy"})


def static_file(request: HttpRequest, path: str) -> HttpResponseBase:
    """Serve admin and API-docs assets from the installed apps, so one process is enough.

    The files are small: they are read whole, because a file-streaming response would be
    iterated synchronously under ASGI. Behind a CDN or web server, use `collectstatic` output.
    """
    response = serve(request, path, insecure=True)
    if not isinstance(response, FileResponse):
        return response
    with response.file_to_stream as handle:  # type: ignore[union-attr]
        whole = HttpResponse(handle.read(), status=response.status_code)
    for header, value in response.items():
        whole[header] = value
    return whole


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
