"""What the proxy does with one request, step by step (SPEC §9):

kill switch → token → JSON object body → model → whose key (the workspace's own, SPEC 22.1,
or the platform's pool) → limits → forward (tried again on another key while nothing has
reached the client) → relay.

Every refusal is a `ProxyError`, rendered in the route's dialect by `errors.error_response`.
A usage record is committed before the end of the answer reaches the client (SPEC 20.3):
for JSON before the body is sent, for a stream before its final event is relayed.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from ai_proxy.admission import admit
from ai_proxy.errors import (
    BadRequest,
    PayloadTooLarge,
    ProxyError,
    UpstreamAnswered,
    refusal_response,
    stream_error_event,
)
from ai_proxy.exchange import Exchange
from ai_proxy.failover import upstream_open
from ai_proxy.headers import forwarded_headers_check
from ai_proxy.limits import enforce_limits
from ai_proxy.own_keys import own_key, own_key_verdict
from ai_proxy.plans import Plan, catalog_model, plan
from ai_proxy.policy import body_policy_apply
from ai_proxy.upstream import READ_FAILURES, failure_error, upstream_keys
from catalog.routes import Route

logger = logging.getLogger(__name__)


async def proxy_request(request: HttpRequest, route: Route) -> HttpResponseBase:
    """Forward one inference request upstream and relay the answer."""
    exchange = Exchange(route=route)
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
    """The enabled catalog models this route serves, as an OpenAI model list."""
    exchange = Exchange(route=route)
    try:
        config, exchange.token = await admit(request, route)
        # Listing models is one of the proxy's routes: it counts toward the rate limit.
        admitted = await enforce_limits(exchange.token, config, budgets=False, in_flight=False)
    except ProxyError as error:
        exchange.refused(error)
        await exchange.finish()
        return refusal_response(route.dialect, error)
    data = [
        {"id": entry.id, "object": "model", "created": 0, "owned_by": entry.provider}
        for entry in sorted(config.catalog.values(), key=lambda entry: entry.id)
        if route.serves(entry.provider)
    ]
    exchange.status = 200
    await exchange.finish()
    listing = _json_response(orjson.dumps({"object": "list", "data": data}), 200)
    for name, value in admitted.window.headers().items():
        listing[name] = value
    return listing


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The request body: a JSON object of at most AI_PROXY_MAX_BODY_BYTES."""
    cap = settings.AI_PROXY_MAX_BODY_BYTES
    raw = request.read(cap + 1)
    if len(raw) > cap:
        raise PayloadTooLarge(f"The request body is larger than {cap} bytes.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def upstream_content(body: dict[str, Any]) -> bytes:
    # What is forwarded is exactly what was checked: re-encoded, so a duplicated "model"
    # key cannot mean one model here and another upstream.
    try:
        return orjson.dumps(body)
    except (orjson.JSONEncodeError, TypeError):
        raise BadRequest("The body holds a value JSON cannot carry.") from None


async def _forward(request: HttpRequest, exchange: Exchange) -> HttpResponseBase:
    route = exchange.route
    config, exchange.token = await admit(request, route)
    forwarded_headers_check(request.headers)
    body = json_object(request)
    entry = catalog_model(body, route, config)
    if not isinstance(body.get("stream", False), bool):
        raise BadRequest("'stream' must be true or false.")
    own = await own_key(exchange.token, route, entry.provider, config)
    if own is not None:
        exchange.paid_by = own.paid_by
    else:
        await body_policy_apply(
            body=body, route=route, config=config, workspace_id=exchange.token.workspace_id
        )
    forward = plan(route, entry, body)
    exchange.planned(entry, forward, stream_requested=body.get("stream") is True)
    content = upstream_content(forward.body)
    # The platform's daily budgets are for what the platform pays (SPEC 22.1).
    admitted = await enforce_limits(
        exchange.token, config, budgets=own is None, in_flight=route.metered
    )
    exchange.slot = admitted.slot
    try:
        opened = await upstream_open(
            keys=[own.key] if own is not None else await upstream_keys(entry.provider),
            path=forward.upstream_path,
            query=request.META.get("QUERY_STRING", ""),
            content=content,
            client_headers=request.headers,
            attempts=exchange.attempts,
        )
    except UpstreamAnswered as refused:
        if own is not None:
            await own_key_verdict(own, refused.status)
        raise
    if own is not None:
        await own_key_verdict(own, opened.response.status)
    response = opened.response
    content_type = response.headers.get("content-type", "application/json")
    if content_type.startswith("text/event-stream"):
        relayed: HttpResponseBase = _streaming_response(exchange, response, forward, content_type)
    else:
        relayed = await _answer(exchange, response, forward, content_type)
    for name, value in admitted.window.headers().items():
        relayed[name] = value
    return relayed


def _json_response(
    content: bytes, status: int, content_type: str = "application/json"
) -> HttpResponse:
    response = HttpResponse(content, status=status, content_type=content_type)
    response["Content-Length"] = str(len(content))
    return response


async def _answer(
    exchange: Exchange, response: aiohttp.ClientResponse, forward: Plan, content_type: str
) -> HttpResponse:
    """A JSON answer: read whole, its usage recorded, converted if translated, relayed."""
    try:
        answer = await response.read()
    except READ_FAILURES as failure:
        response.close()
        raise failure_error(failure) from None
    exchange.status = response.status
    exchange.observe(answer)
    await exchange.record_usage(answer=answer)
    await exchange.finish()
    if forward.convert_answer is not None:
        answer, content_type = forward.convert_answer(answer), "application/json"
    return _json_response(answer, response.status, content_type)


def _streaming_response(
    exchange: Exchange, upstream: aiohttp.ClientResponse, forward: Plan, content_type: str
) -> StreamingHttpResponse:
    exchange.status, exchange.streamed = upstream.status, True
    exchange.rewriter = forward.new_stream_meter() if forward.new_stream_meter else None
    response = StreamingHttpResponse(
        _relay(exchange, upstream), status=upstream.status, content_type=content_type
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _relay(exchange: Exchange, upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The upstream stream, event by event as it arrives. Its final event waits until the
    usage record is committed. Closing this generator (the client went away) closes the
    upstream response at once."""
    try:
        async for chunk in upstream.content.iter_any():
            if exchange.slot is not None:
                await exchange.slot.keep()
            relayed = exchange.relay(chunk)
            if relayed:
                yield relayed
            if exchange.final_held():
                await exchange.record_usage()
                yield exchange.release_final()
        exchange.completed = True
        tail = exchange.relay_end()
        await exchange.record_usage()
        if tail:
            yield tail
    except READ_FAILURES as failure:
        # The status is sent already: the failure goes to the client as an error event.
        error = failure_error(failure)
        exchange.refused(error)
        await exchange.record_usage()
        yield exchange.stream_error(stream_error_event(exchange.route.dialect, error))
    finally:
        if not exchange.completed and exchange.error is None:
            exchange.client_disconnected = True
        if exchange.completed:
            upstream.release()  # read to its end: the connection goes back to the pool
        else:
            upstream.close()
        await exchange.finish()
