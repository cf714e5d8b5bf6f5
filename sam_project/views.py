from django.contrib.staticfiles.views import serve
from django.db import DatabaseError, connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found, server_error

from ai_proxy import views as proxy_views

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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(_API_PREFIXES):
        return JsonResponse({"error": "not_found", "message": "No such endpoint."}, status=404)
    return page_not_found(request, exception)


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
