"""The AI proxy's endpoints: plain async Django views (DRF views are sync and buffer streams),
one per route of `catalog.routes`. Served under ASGI by `ai_proxy.asgi.ProxyASGIHandler`;
see `proxy.py` for what each does."""

from collections.abc import Callable, Coroutine
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from ai_proxy.errors import MethodNotAllowed, ProxyError, RouteNotFound, error_response
from ai_proxy.proxy import proxy_models, proxy_request
from catalog.routes import Route, dialect_of

View = Callable[[HttpRequest], Coroutine[Any, Any, HttpResponseBase]]


def route_view(route: Route) -> View:
    """The view of one route: it forwards upstream, or (the model list) answers here."""
    handle = proxy_request if route.forwards else proxy_models

    # Token-authenticated API: no cookies are read, so there is nothing for CSRF to protect.
    @csrf_exempt
    async def view(request: HttpRequest) -> HttpResponseBase:
        if request.method != route.method:
            refusal = MethodNotAllowed(f"Use {route.method}.", headers={"Allow": route.method})
            return error_response(route.dialect, refusal)
        return await handle(request, route)

    view.__name__ = route.name.replace(".", "_")
    return view


@csrf_exempt
async def not_found(request: HttpRequest) -> HttpResponseBase:
    """Any other path under /ai/: a 404 in the dialect its path suggests."""
    return error_response(dialect_of(request.path), RouteNotFound())


def server_failure(request: HttpRequest) -> HttpResponseBase:
    """A bug: 500, in the dialect of the route (Django has logged the exception)."""
    return error_response(dialect_of(request.path), ProxyError())
