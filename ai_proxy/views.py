"""The AI proxy's endpoints: plain async Django views (DRF views are sync and buffer streams).

Served under ASGI by `ai_proxy.asgi.ProxyASGIHandler`; see `proxy.py` for what each does.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from ai_proxy.errors import MethodNotAllowed, ProxyError, RouteNotFound, error_response
from ai_proxy.proxy import proxy_models, proxy_request
from catalog import routes
from catalog.routes import Dialect, Route, dialect_of

View = Callable[[HttpRequest], Coroutine[Any, Any, HttpResponseBase]]


def _endpoint(
    route: Route, method: str, handle: Callable[..., Coroutine[Any, Any, HttpResponseBase]]
) -> View:
    # Token-authenticated API: no cookies are read, so there is nothing for CSRF to protect.
    @csrf_exempt
    async def view(request: HttpRequest) -> HttpResponseBase:
        if request.method != method:
            refusal = MethodNotAllowed(f"Use {method}.", headers={"Allow": method})
            return error_response(route.dialect, refusal)
        return await handle(request, route)

    view.__name__ = route.name.replace(".", "_")
    return view


anthropic_messages = _endpoint(routes.ANTHROPIC_MESSAGES, "POST", proxy_request)
anthropic_count_tokens = _endpoint(routes.ANTHROPIC_COUNT_TOKENS, "POST", proxy_request)
chat_completions = _endpoint(routes.CHAT_COMPLETIONS, "POST", proxy_request)
responses = _endpoint(routes.RESPONSES, "POST", proxy_request)
models = _endpoint(routes.MODELS, "GET", proxy_models)


def server_failure(request: HttpRequest) -> HttpResponseBase:
    """A bug: 500, in the dialect of the route (Django has logged the exception)."""
    return error_response(dialect_of(request.path), ProxyError())


@csrf_exempt
async def anthropic_not_found(request: HttpRequest) -> HttpResponseBase:
    return error_response(Dialect.ANTHROPIC, RouteNotFound())


@csrf_exempt
async def openai_not_found(request: HttpRequest) -> HttpResponseBase:
    return error_response(Dialect.OPENAI, RouteNotFound())
