"""What the proxy does with one request, step by step (SPEC §9):

kill switch → token → JSON object body → model → limits → upstream key → forward → relay.

Every refusal is a `ProxyError`, rendered in the route's dialect by `errors.error_response`.
"""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from ai_proxy.admission import admit
from ai_proxy.config import CatalogModel, StoredConfig, default_model
from ai_proxy.errors import (
    BadRequest,
    ModelNotAllowed,
    PayloadTooLarge,
    ProxyError,
    refusal_response,
    stream_error_event,
)
from ai_proxy.exchange import Exchange, RequestLog
from ai_proxy.limits import enforce_limits
from ai_proxy.plans import plan
from ai_proxy.routes import Route
from ai_proxy.upstream import (
    forwarded_headers,
    upstream_close,
    upstream_failure,
    upstream_for,
    upstream_open,
    upstream_refusal,
)
from ai_proxy.usage import UsageRecorder
from credentials.catalog import AGENTS

logger = logging.getLogger(__name__)


def new_exchange(route: Route) -> Exchange:
    """The per-request record, with what observes (and may rewrite) what it relays."""
    return Exchange(route=route, observers=[RequestLog(), UsageRecorder()])


async def proxy_request(request: HttpRequest, route: Route) -> HttpResponseBase:
    """Forward one inference request upstream and relay the answer."""
    exchange = new_exchange(route)
    try:
        return await _forward(request, exchange)
    except ProxyError as error:
        exchange.refused(error)
        await exchange.finish()
        return refusal_response(route.dialect, error)
    except asyncio.CancelledError:
        # The client went away before the answer started; 499 as web servers log it.
        exchange.client_disconnected = True
        exchange.status = exchange.status or 499
        await exchange.finish()
        raise
    except Exception:
        exchange.status = 500
        await exchange.finish()
        raise


async def proxy_models(request: HttpRequest, route: Route) -> HttpResponseBase:
    """The enabled catalog models this route's dialect serves, as an OpenAI model list."""
    exchange = new_exchange(route)
    try:
        config, exchange.token = await admit(request, route)
        # Listing models is one of the proxy's routes: it counts toward the rate limit.
        window = await enforce_limits(exchange.token, config, budgets=False)
    except ProxyError as error:
        exchange.refused(error)
        await exchange.finish()
        return refusal_response(route.dialect, error)
    data = [
        {"id": entry.id, "object": "model", "created": 0, "owned_by": entry.provider}
        for entry in sorted(config.catalog.values(), key=lambda entry: entry.id)
        if entry.provider in route.providers
    ]
    exchange.status = 200
    await exchange.finish()
    listing = HttpResponse(
        json.dumps({"object": "list", "data": data}), content_type="application/json"
    )
    for name, value in window.headers().items():
        listing[name] = value
    return listing


def _json_object(request: HttpRequest) -> dict[str, Any]:
    cap = settings.AI_PROXY_MAX_BODY_BYTES
    raw = request.read(cap + 1)
    if len(raw) > cap:
        raise PayloadTooLarge(f"The request body is larger than {cap} bytes.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


_SNAPSHOT_SUFFIX = re.compile(r"-\d{8}$")


def _catalog_entry(catalog: dict[str, CatalogModel], requested: str) -> CatalogModel | None:
    """The enabled entry for a model id, or for a dated snapshot of it (`claude-haiku-4-5-
    20251001` is `claude-haiku-4-5`): agents ask for snapshots by default."""
    entry = catalog.get(requested)
    if entry is None:
        entry = catalog.get(_SNAPSHOT_SUFFIX.sub("", requested))
    return entry


def _catalog_model(body: dict[str, Any], route: Route, config: StoredConfig) -> CatalogModel:
    """The enabled catalog entry the request is for; a request without a model gets the
    default of the agent that uses this route, written into the body."""
    if "model" not in body:
        requested, _layer = default_model(AGENTS[route.default_agent], config)
        body["model"] = requested
    requested = body["model"]
    if not isinstance(requested, str) or not requested:
        raise BadRequest("'model' must be a non-empty string.")
    entry = _catalog_entry(config.catalog, requested)
    if entry is not None and entry.provider in route.providers:
        return entry
    allowed = sorted(m.id for m in config.catalog.values() if m.provider in route.providers)
    where = "on this route" if entry is not None else "here"
    raise ModelNotAllowed(
        f"The model '{requested[:100]}' is not available {where}. "
        f"Available models: {', '.join(allowed) or 'none'}."
    )


def _upstream_body(body: dict[str, Any]) -> bytes:
    # What is forwarded is exactly what was checked: re-encoded, so a duplicated "model"
    # key cannot mean one model here and another upstream.
    try:
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        raise BadRequest("The body holds a number JSON cannot carry (NaN or infinity).") from None


async def _forward(request: HttpRequest, exchange: Exchange) -> HttpResponseBase:
    route = exchange.route
    config, exchange.token = await admit(request, route)
    body = _json_object(request)
    entry = _catalog_model(body, route, config)
    exchange.model, exchange.provider, exchange.price = entry.id, entry.provider, entry
    if not isinstance(body.get("stream", False), bool):
        raise BadRequest("'stream' must be true or false.")
    exchange.stream_requested = body.get("stream") is True
    forward = plan(route, entry, body)
    exchange.usage_dialect = forward.usage_dialect
    content = _upstream_body(forward.body)
    window = await enforce_limits(exchange.token, config)
    upstream = await upstream_for(entry.provider)
    response = await upstream_open(
        upstream,
        forward.upstream_path,
        request.META.get("QUERY_STRING", ""),
        content,
        forwarded_headers(upstream, request.headers),
    )
    exchange.upstream_status = response.status_code
    if not response.is_success:
        raise await upstream_refusal(response)
    content_type = response.headers.get("content-type", "application/json")
    if content_type.startswith("text/event-stream"):
        exchange.status, exchange.streamed = response.status_code, True
        if forward.new_stream_meter is not None:
            exchange.rewriter = forward.new_stream_meter()
        relayed: HttpResponseBase = _streaming_response(exchange, response, content_type)
    else:
        relayed = await _answer(exchange, response, content_type, forward.convert_answer)
    for name, value in window.headers().items():
        relayed[name] = value
    return relayed


async def _answer(
    exchange: Exchange,
    response: httpx.Response,
    content_type: str,
    convert: Callable[[bytes], bytes] | None,
) -> HttpResponse:
    """A JSON answer, read whole, observed (usage), converted if translated, and relayed."""
    try:
        answer = await response.aread()
    except httpx.TransportError as failure:
        raise upstream_failure(failure) from None
    finally:
        await upstream_close(response)
    exchange.status, exchange.completed = response.status_code, True
    exchange.observe(answer)
    await exchange.finish()
    if convert is not None:
        answer, content_type = convert(answer), "application/json"
    relayed = HttpResponse(answer, status=response.status_code, content_type=content_type)
    relayed["Content-Length"] = str(len(answer))
    return relayed


def _streaming_response(
    exchange: Exchange, upstream: httpx.Response, content_type: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _relay(exchange, upstream), status=upstream.status_code, content_type=content_type
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _relay(exchange: Exchange, upstream: httpx.Response) -> AsyncIterator[bytes]:
    """The upstream body, chunk by chunk as it arrives. Closing this generator (the client
    went away) closes the upstream response at once."""
    try:
        async for chunk in upstream.aiter_bytes():
            relayed = exchange.relay(chunk)
            if relayed:
                yield relayed
        exchange.completed = True
        tail = exchange.relay_end()
        if tail:
            yield tail
    except httpx.TransportError as failure:
        # The status is sent already: the failure goes to the client as an error event.
        error = upstream_failure(failure)
        exchange.refused(error)
        yield stream_error_event(exchange.route.dialect, error)
    finally:
        if not exchange.completed and exchange.error is None:
            exchange.client_disconnected = True
        await upstream_close(upstream)
        await exchange.finish()
