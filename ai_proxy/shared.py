"""State the proxy's workers share: rate-limit windows, in-flight slots, platform key health
and the response ids each workspace created.

With `REDIS_URL` it lives in Redis, through `redis.asyncio`: one pooled client per event
loop, short socket timeouts, so a slow or partitioned Redis costs a request a fraction of a
second, never a frozen worker. Without it (the embedded default: one process) it lives in
this process's memory. When Redis fails, the proxy carries on with this process's memory
(limits then hold per process, not across workers), logs one line, and tries Redis again
after `RETRY_SECONDS`; a line says when it is back.
"""

import asyncio
import logging
import time
import weakref
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PREFIX = "sam:proxy:"
RETRY_SECONDS = 5.0
SOCKET_TIMEOUT = 0.5

# Take a slot unless `limit` live ones are held; expired slots (a worker that died holding
# them) are dropped first. KEYS[1] the slots; ARGV: now, expiry, member, limit.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(ARGV[2]) * 1000))
return 1
"""


class LocalState:
    """This process's memory: exact for one process, per process with several."""

    SWEEP_AT = 10_000

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    def _live(self, key: str, now: float) -> Any:
        entry = self._values.get(key)
        if entry is None or entry[0] <= now:
            self._values.pop(key, None)
            return None
        return entry[1]

    async def count(self, key: str, window: float) -> int:
        now = time.time()
        self._sweep(now)
        value = (self._live(key, now) or 0) + 1
        expiry = self._values[key][0] if value > 1 else now + window
        self._values[key] = (expiry, value)
        return int(value)

    async def acquire(self, key: str, member: str, limit: int, ttl: float) -> bool:
        now = time.time()
        slots = {m: exp for m, exp in self._slots.get(key, {}).items() if exp > now}
        if len(slots) >= limit:
            self._slots[key] = slots
            return False
        slots[member] = now + ttl
        self._slots[key] = slots
        return True

    async def release(self, key: str, member: str) -> None:
        self._slots.get(key, {}).pop(member, None)

    async def extend(self, key: str, member: str, ttl: float) -> None:
        slots = self._slots.get(key, {})
        if member in slots:
            slots[member] = time.time() + ttl

    async def get(self, key: str) -> str | None:
        return self._live(key, time.time())

    async def get_many(self, keys: list[str]) -> list[str | None]:
        now = time.time()
        return [self._live(key, now) for key in keys]

    async def put(self, key: str, value: str, ttl: float) -> None:
        now = time.time()
        self._sweep(now)
        self._values[key] = (now + ttl, value)

    def _sweep(self, now: float) -> None:
        """Drop expired values now and then, so past windows do not pile up."""
        if len(self._values) > self.SWEEP_AT:
            self._values = {k: v for k, v in self._values.items() if v[0] > now}

    def clear(self) -> None:
        self._values.clear()
        self._slots.clear()


class RedisState:
    def __init__(self, url: str) -> None:
        # A bounded pool: past its size a call waits (up to the timeout) for a connection to
        # come back, instead of opening one more.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=settings.AI_PROXY_REDIS_CONNECTIONS,
            timeout=SOCKET_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            decode_responses=True,
        )
        self.client = aioredis.Redis(connection_pool=pool)
        self._acquire = self.client.register_script(_ACQUIRE)

    async def count(self, key: str, window: float) -> int:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(PREFIX + key)
            pipe.expire(PREFIX + key, int(window) + 1, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def acquire(self, key: str, member: str, limit: int, ttl: float) -> bool:
        now = time.time()
        taken = await self._acquire(keys=[PREFIX + key], args=[now, now + ttl, member, limit])
        return bool(taken)

    async def release(self, key: str, member: str) -> None:
        await self.client.zrem(PREFIX + key, member)

    async def extend(self, key: str, member: str, ttl: float) -> None:
        expiry = time.time() + ttl
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zadd(PREFIX + key, {member: expiry}, xx=True)
            pipe.pexpireat(PREFIX + key, int(expiry * 1000), gt=True)
            await pipe.execute()

    async def get(self, key: str) -> str | None:
        value = await self.client.get(PREFIX + key)
        return None if value is None else str(value)

    async def get_many(self, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        values = await self.client.mget([PREFIX + key for key in keys])
        return [None if value is None else str(value) for value in values]

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self.client.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))


class SharedState:
    """Redis when configured and reachable, this process's memory otherwise."""

    def __init__(self) -> None:
        self.local = LocalState()
        self._redis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisState] = (
            weakref.WeakKeyDictionary()
        )
        self._down_until = 0.0
        self._blocking: redis.Redis | None = None

    def _backend(self) -> RedisState | None:
        if not settings.REDIS_URL or time.monotonic() < self._down_until:
            return None
        loop = asyncio.get_running_loop()
        backend = self._redis.get(loop)
        if backend is None:
            backend = self._redis[loop] = RedisState(settings.REDIS_URL)
        return backend

    async def _call(self, name: str, *args: Any) -> Any:
        backend = self._backend()
        if backend is not None:
            try:
                result = await getattr(backend, name)(*args)
            except (RedisError, OSError, TimeoutError) as failure:
                self._went_down(failure)
            else:
                if self._down_until:
                    self._down_until = 0.0
                    logger.warning("ai_proxy.shared_state_recovered")
                return result
        return await getattr(self.local, name)(*args)

    def _went_down(self, failure: Exception) -> None:
        if not self._down_until:
            logger.error(
                "ai_proxy.shared_state_unavailable",
                extra={"failure": type(failure).__name__, "retry_seconds": RETRY_SECONDS},
            )
        self._down_until = time.monotonic() + RETRY_SECONDS

    async def count(self, key: str, window: float) -> int:
        """Add one to a counter that starts at 0 and lives `window` seconds; its new value."""
        return int(await self._call("count", key, window))

    async def acquire(self, key: str, member: str, limit: int, ttl: float) -> bool:
        """Take one of `limit` slots under `key` for at most `ttl` seconds."""
        return bool(await self._call("acquire", key, member, limit, ttl))

    async def release(self, key: str, member: str) -> None:
        await self._call("release", key, member)

    async def extend(self, key: str, member: str, ttl: float) -> None:
        """Keep a slot held `ttl` seconds more (a long stream's)."""
        await self._call("extend", key, member, ttl)

    async def get(self, key: str) -> str | None:
        value: str | None = await self._call("get", key)
        return value

    async def get_many(self, keys: list[str]) -> list[str | None]:
        values: list[str | None] = await self._call("get_many", keys)
        return values

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self._call("put", key, value, ttl)

    # The admin's pages are synchronous: a blocking client of their own, same keys.
    def get_many_now(self, keys: list[str]) -> list[str | None]:
        """`get_many`, for synchronous code."""
        client = self._blocking_client()
        if client is not None and keys:
            try:
                values = client.mget([PREFIX + key for key in keys])
                return [None if value is None else str(value) for value in values]
            except (RedisError, OSError, TimeoutError) as failure:
                self._went_down(failure)
        now = time.time()
        return [self.local._live(key, now) for key in keys]

    def put_now(self, key: str, value: str, ttl: float) -> None:
        """`put`, for synchronous code."""
        client = self._blocking_client()
        if client is not None:
            try:
                client.set(PREFIX + key, value, px=max(1, int(ttl * 1000)))
                return
            except (RedisError, OSError, TimeoutError) as failure:
                self._went_down(failure)
        self.local._values[key] = (time.time() + ttl, value)

    def _blocking_client(self) -> redis.Redis | None:
        if not settings.REDIS_URL or time.monotonic() < self._down_until:
            return None
        if self._blocking is None:
            self._blocking = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                decode_responses=True,
            )
        return self._blocking

    async def close(self) -> None:
        """Close this event loop's Redis client (server shutdown)."""
        backend = self._redis.pop(asyncio.get_running_loop(), None)
        if backend is not None:
            await backend.client.aclose()
            await backend.client.connection_pool.disconnect()

    def reset(self) -> None:
        """Forget what this process holds (tests); Redis is cleared with the cache."""
        self.local.clear()
        self._down_until = 0.0
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None


shared_state = SharedState()
