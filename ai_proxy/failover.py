"""Which platform key serves a request, and what happens when the provider fails it before
the first byte reaches the client (SPEC 21).

Each try picks a healthy key of the provider's pool at random by weight. A 429, 529, 500,
502, 503 or 504, or a connection that could not be made, is tried again on another healthy
key — the same key only when it is the only one left, after its backoff — at most
`AI_PROXY_UPSTREAM_ATTEMPTS` tries within `AI_PROXY_RETRY_BUDGET_SECONDS`. Nothing else is
tried again: another 4xx is the provider's word on the request itself, and it is passed on.
Once an answer has begun (a 2xx), it is the client's, whatever happens to it.

What each failure says about its key goes to `key_health`, which every worker reads.
"""

import asyncio
import logging
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from django.conf import settings

from ai_proxy.errors import ProxyError, UpstreamAnswered, UpstreamKeysCooling, UpstreamKeysRefused
from ai_proxy.key_health import (
    Health,
    State,
    cooldown_seconds,
    key_break,
    key_cool,
    key_failed,
    key_health,
)
from ai_proxy.upstream import (
    UpstreamKey,
    failure_error,
    forwarded_headers,
    upstream_answered,
    upstream_send,
)

logger = logging.getLogger(__name__)

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504, 529})
COOLING_STATUSES = frozenset({429, 529})
BROKEN_STATUSES = frozenset({401, 403})
# Connections that were never made: the request did not reach the provider.
CONNECT_FAILURES = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# The wait before the same key is tried again after a 5xx that named no `retry-after`.
BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class Attempt:
    """One try of a request upstream, as logs and metrics see it (a key's label, never its
    value)."""

    key_label: str
    status: int | None = None  # the provider's status; None when no connection was made
    failure: str | None = None  # the connection's failure, when there was one


@dataclass
class Opened:
    """An upstream answer that began well (2xx), and the key it came with."""

    key: UpstreamKey
    response: aiohttp.ClientResponse


async def upstream_open(
    *,
    keys: list[UpstreamKey],
    path: str,
    query: str,
    content: bytes,
    client_headers: Mapping[str, str],
    attempts: list[Attempt],
) -> Opened:
    """Send the request on the pool's keys until one answers 2xx; returns as soon as its
    headers are in. Raises the last failure (the provider's answer passed on as it came, or
    the proxy's 502 / 504) when no try is left, and `UpstreamKeysCooling` /
    `UpstreamKeysRefused` when no key could be tried at all. `attempts` receives every try."""
    tries = max(1, settings.AI_PROXY_UPSTREAM_ATTEMPTS)
    budget_ends = time.monotonic() + settings.AI_PROXY_RETRY_BUDGET_SECONDS
    tried: set[str] = set()
    failure: ProxyError | None = None
    while len(attempts) < tries:
        healths = await _healths(keys)
        now = time.time()
        if failure is None and not any(health.usable(now) for health in healths):
            raise _no_usable_key(keys[0], healths, now)
        chosen = _next_key(keys, healths, tried, now, failure)
        if chosen is None:
            break
        key, wait = chosen
        if failure is not None and time.monotonic() + wait > budget_ends:
            break
        if wait:
            await asyncio.sleep(wait)
        tried.add(key.health_id)
        try:
            response = await upstream_send(
                key=key,
                path=path,
                query=query,
                content=content,
                headers=forwarded_headers(key, client_headers),
            )
        except CONNECT_FAILURES as connect_failure:
            attempts.append(Attempt(key.label, failure=type(connect_failure).__name__))
            failure = failure_error(connect_failure)
            if key.health_id:
                await key_failed(key_id=key.health_id, status=None, error_type=failure.code)
            continue
        except aiohttp.ClientError as broken:
            # The request may have reached the provider (and cost): not tried again.
            attempts.append(Attempt(key.label, failure=type(broken).__name__))
            raise failure_error(broken) from None
        attempts.append(Attempt(key.label, status=response.status))
        if 200 <= response.status < 300:
            return Opened(key, response)
        answered = await upstream_answered(response)
        await _note(key, answered)
        if answered.status not in RETRIED_STATUSES:
            raise answered
        failure = answered
        if len(attempts) < tries:
            logger.warning(
                "ai_proxy.upstream_retry",
                extra={
                    "provider": key.provider.provider,
                    "key": key.label,
                    "status": answered.status,
                },
            )
    assert failure is not None
    raise failure


def _next_key(
    keys: list[UpstreamKey],
    healths: list[Health],
    tried: set[str],
    now: float,
    failure: ProxyError | None,
) -> tuple[UpstreamKey, float] | None:
    """The key to try next and how long to wait first; None when there is none."""
    fresh = [
        key
        for key, health in zip(keys, healths, strict=True)
        if health.usable(now) and key.health_id not in tried
    ]
    if fresh:
        # Spreading load, not a secret: the standard generator is right.
        weights = [key.weight for key in fresh]
        return random.choices(fresh, weights=weights)[0], 0.0  # noqa: S311
    alive = [
        (key, health)
        for key, health in zip(keys, healths, strict=True)
        if health.state is not State.BROKEN
    ]
    if len(alive) != 1 or failure is None:
        return None
    # The only key left: again, once its cooldown (or the provider's `retry-after`) is over.
    key, health = alive[0]
    waits = [
        BACKOFF_SECONDS * 2 ** (len(tried) - 1),
        cooldown_seconds(failure.headers, now, default=0.0),
    ]
    if health.state is State.COOLING and health.until is not None:
        waits.append(health.until - now)
    return key, max(waits)


async def _healths(keys: list[UpstreamKey]) -> list[Health]:
    """Each key's health; a key outside the pool (a workspace's own: no `health_id`) is
    always healthy here, its failures its own."""
    pooled = iter(await key_health([key.health_id for key in keys if key.health_id]))
    return [next(pooled) if key.health_id else Health() for key in keys]


async def _note(key: UpstreamKey, answered: UpstreamAnswered) -> None:
    """What the provider's refusal says about a pool key, for every worker."""
    if not key.health_id:
        return
    if answered.status in COOLING_STATUSES:
        await key_cool(
            key_id=key.health_id,
            seconds=cooldown_seconds(answered.headers),
            status=answered.status,
            error_type=answered.error_type,
        )
    elif answered.status in BROKEN_STATUSES:
        await key_break(
            key_id=key.health_id, status=answered.status, error_type=answered.error_type
        )
        logger.error(
            "ai_proxy.upstream_key_broken",
            extra={"provider": key.provider.provider, "key": key.label, "status": answered.status},
        )
    elif answered.status >= 500:
        await key_failed(
            key_id=key.health_id, status=answered.status, error_type=answered.error_type
        )


def _no_usable_key(key: UpstreamKey, healths: list[Health], now: float) -> ProxyError:
    """Every key is cooling down or broken: the soonest comeback, or the admin's turn."""
    cooling = [health for health in healths if health.state is State.COOLING]
    if not cooling:
        return UpstreamKeysRefused(provider=key.provider.provider)
    soonest = min(cooling, key=lambda health: health.until or now)
    return UpstreamKeysCooling(
        provider=key.provider.provider,
        status=529 if all(health.status == 529 for health in cooling) else 429,
        retry_after=max(1, math.ceil((soonest.until or now) - now)),
    )
