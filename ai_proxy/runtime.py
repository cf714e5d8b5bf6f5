"""What a proxy worker keeps for the life of its process, in one place: the HTTP client
session of each event loop, the configuration snapshot and the platform keys it read last
(both briefly, so a request does not wait on them), the usage writes in flight, and the
shared state's clients. `runtime_close` lets go of all of it at server shutdown;
`runtime_reset` forgets what the process holds (the test suite, between tests).
"""

import asyncio
import functools
import logging
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiohttp
from django.conf import settings

from ai_proxy.db import db_close
from ai_proxy.shared import shared_state

logger = logging.getLogger(__name__)
T = TypeVar("T")

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)
_pending_writes: set["asyncio.Future[Any]"] = set()


def http_session() -> aiohttp.ClientSession:
    """The upstream client of the running event loop (a session cannot change loops):
    keep-alive connections with a cap, happy eyeballs, no cookies (a provider's would reach
    every user's later requests), and bodies relayed as they come (no decompression). The
    proxy environment is read once (`upstream_proxy`), not on every request as aiohttp's
    `trust_env` does (it walks the whole environment and reads ~/.netrc each time)."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        connector = UpstreamConnector(
            limit=settings.AI_PROXY_UPSTREAM_CONNECTIONS, ttl_dns_cache=300
        )
        session = _sessions[loop] = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent",),
        )
    return session


class UpstreamConnector(aiohttp.TCPConnector):
    """aiohttp's connector, except that a pooled connection that received bytes while it was
    idle (a misbehaving upstream, a late or duplicated answer) is closed, not reused: aiohttp
    would read those bytes as the answer to the next request sent on it — another user's."""

    async def _get(self, key: Any, traces: list[Any]) -> Any:
        while (connection := await super()._get(key, traces)) is not None:
            protocol = connection.protocol
            if protocol is not None and not protocol.should_close:
                return connection
            connection.close()
        return None


@functools.cache
def upstream_proxy(url: str) -> str | None:
    """The HTTP(S) proxy the environment names for this upstream base URL (HTTPS_PROXY,
    HTTP_PROXY, NO_PROXY, as curl and aiohttp read them), or None."""
    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


@dataclass
class Memo(Generic[T]):
    """A value read from somewhere slower, kept `seconds` in this process's memory; one
    reload at a time, whoever asks. With `stale_while_reloading`, a caller never waits once
    a value is held: an expired one is still answered while the reload runs."""

    load: Callable[[], Awaitable[T]]
    seconds: Callable[[], float]
    name: str
    stale_while_reloading: bool = False
    _value: tuple[float, T] | None = None
    _reload: "asyncio.Task[T] | None" = field(default=None, repr=False)

    async def get(self) -> T:
        held = self._value
        if held is not None and held[0] > time.monotonic():
            return held[1]
        if self._reload is None or self._reload.done():
            self._reload = asyncio.get_running_loop().create_task(self._load())
            self._reload.add_done_callback(self._reloaded)
        if held is not None and self.stale_while_reloading:
            return held[1]
        return await asyncio.shield(self._reload)

    async def _load(self) -> T:
        value = await self.load()
        self._value = (time.monotonic() + self.seconds(), value)
        return value

    def _reloaded(self, task: "asyncio.Task[T]") -> None:
        if not task.cancelled() and task.exception() is not None and self._value is not None:
            # Nobody may await this reload: log here; the value held stays until one works.
            logger.error(
                "ai_proxy.reload_failed", extra={"memo": self.name}, exc_info=task.exception()
            )

    def clear(self) -> None:
        self._value, self._reload = None, None


_memos: list[Memo[Any]] = []


def memo(
    *,
    load: Callable[[], Awaitable[T]],
    seconds: Callable[[], float],
    name: str,
    stale_while_reloading: bool = False,
) -> Memo[T]:
    held: Memo[T] = Memo(load, seconds, name, stale_while_reloading)
    _memos.append(held)
    return held


def write_in_flight(write: Awaitable[T]) -> "asyncio.Future[T]":
    """Run a database write to its end even if the request that started it is cancelled
    (the client went away): it is awaited through `asyncio.shield`, and at shutdown."""
    future = asyncio.ensure_future(write)
    _pending_writes.add(future)
    future.add_done_callback(_pending_writes.discard)
    return future


def writes_in_flight() -> int:
    return len(_pending_writes)


async def runtime_close() -> None:
    """Server shutdown: wait for the writes in flight, close this loop's connections."""
    while _pending_writes:
        await asyncio.gather(*list(_pending_writes), return_exceptions=True)
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()
    await db_close()
    await shared_state.close()


_reset_hooks: list[Callable[[], None]] = []


def on_runtime_reset(hook: Callable[[], None]) -> None:
    """Have `runtime_reset` call `hook` too (a module's own memory: the own keys held)."""
    _reset_hooks.append(hook)


def runtime_reset() -> None:
    """Forget every value this process holds (tests: each one starts from the database)."""
    for held in _memos:
        held.clear()
    for hook in _reset_hooks:
        hook()
    shared_state.reset()
    upstream_proxy.cache_clear()
