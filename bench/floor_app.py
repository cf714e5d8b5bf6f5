"""The floor of the proxy's CPU per request: the URLconf of one async view that only relays.

Served by the project's own server — the same uvicorn command and flags, the same ASGI
application (`sam_project.asgi`: the body cap, the lifespan, `ai_proxy.asgi.ProxyASGIHandler`
under /ai/ with `AI_PROXY_MIDDLEWARE`) — with `floor_settings` in place of the project's
settings, whose only change is this URLconf. Its view reads the body, sends it with the
proxy's aiohttp session (`ai_proxy.runtime.http_session`) to the Anthropic upstream with the
headers the bare relay sends (`bare_relay.FORWARDED`, `AI_PROXY_ANTHROPIC_API_KEY` as the
key) and answers the upstream's status, content type and bytes: no auth, no limits, no
parsing, no accounting, no request log line. What the proxy costs above it is its own work.
"""

from bare_relay import FORWARDED
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from ai_proxy.runtime import http_session

_PREFIX = "/ai/anthropic"


async def relay(request: HttpRequest) -> HttpResponse:
    headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
    headers["x-api-key"] = settings.AI_PROXY_ANTHROPIC_API_KEY
    url = settings.AI_PROXY_ANTHROPIC_UPSTREAM + request.get_full_path().removeprefix(_PREFIX)
    async with http_session().post(url, data=request.body, headers=headers) as answer:
        content = await answer.read()
    content_type = answer.headers.get("Content-Type", "application/json")
    response = HttpResponse(content, status=answer.status, content_type=content_type)
    response["Content-Length"] = str(len(content))
    return response


urlpatterns = [path(_PREFIX.removeprefix("/") + "/v1/messages", relay)]
