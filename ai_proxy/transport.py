"""A lean HTTP/1.1 transport for the proxy's `httpx.AsyncClient`.

httpx's default transport (httpcore, h11, anyio) spends several times more CPU per request
than the proxy's own work, and the proxy makes one upstream request per client request.
This transport speaks just what the proxy needs: one request with a body already in memory,
a response read as it arrives, keep-alive connections per origin, TLS through httpx's own
SSL context, and the same exception classes, so the client code is plain httpx. Parsing is
httptools (the C parser uvicorn uses). No HTTP/2, no proxies from the environment.
"""

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator

import httptools
import httpx

# Idle keep-alive connections older than this are not reused: the upstream may have closed
# them, and a request sent on a dying connection would fail for no reason of its own.
IDLE_SECONDS = 30.0
# Stop reading from the socket while this much received body waits for the client.
_HIGH_WATER = 1024 * 1024


class _Connection(asyncio.Protocol):
    """One connection; its protocol callbacks feed an httptools parser."""

    def __init__(self, origin: tuple[bytes, bytes, int]):
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._wake: asyncio.Event = asyncio.Event()
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.keep_alive = False
        self.complete = False
        self.error: Exception | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = httpx.RemoteProtocolError("unexpected protocol upgrade")
        except httptools.HttpParserError as failure:
            self.error = httpx.RemoteProtocolError(f"malformed response: {failure}")
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete and self.error is None:
            self.error = httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )
        self._wake.set()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        # Read here: once the message is complete the parser is reset for the next one.
        self.keep_alive = self._parser.should_keep_alive()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        self.complete = True

    # used by the transport
    def send(self, data: bytes) -> None:
        self._reset()
        assert self.transport is not None
        self.transport.write(data)

    async def wait(self, timeout: float | None) -> None:
        """Until something new happened (data, end, failure), or ReadTimeout."""
        self._wake.clear()
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            raise httpx.ReadTimeout("the upstream sent nothing within the read timeout") from None

    def take(self) -> bytes:
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered < _HIGH_WATER // 2 and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self) -> bool:
        return (
            self.complete
            and not self.closed
            and self.error is None
            and self.keep_alive
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.closed = True


class _Body(httpx.AsyncByteStream):
    def __init__(self, pool: "LeanTransport", connection: _Connection, read_timeout: float | None):
        self._pool, self._connection, self._timeout = pool, connection, read_timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            while connection.chunks:
                yield connection.take()
            if connection.error is not None:
                raise connection.error
            if connection.complete:
                return
            await connection.wait(self._timeout)

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._pool.release(self._connection)


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle_per_origin: int = 64, ssl_context: ssl.SSLContext | None = None):
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_origin
        self._ssl = ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        connection = self._reuse(origin) or await self._connect(origin, timeouts.get("connect"))
        body = await request.aread()
        head = [request.method.encode(), b" ", url.raw_path, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"\r\n")
        try:
            connection.send(b"".join(head) + body)
            while not connection.headers_done:
                if connection.error is not None:
                    raise connection.error
                await connection.wait(timeouts.get("read"))
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            connection.status,
            headers=connection.headers,
            stream=_Body(self, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _reuse(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.reusable() and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(
        self, origin: tuple[bytes, bytes, int], timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls() if scheme == b"https" else None
        try:
            async with asyncio.timeout(timeout):
                _transport, connection = await loop.create_connection(
                    lambda: _Connection(origin),
                    host.decode("ascii"),
                    port,
                    ssl=tls,
                    server_hostname=host.decode("ascii") if tls else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("connecting to the upstream timed out") from None
        except (OSError, ssl.SSLError) as failure:
            raise httpx.ConnectError(f"cannot connect to the upstream: {failure}") from None
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def release(self, connection: _Connection) -> None:
        """Keep a connection whose response was read to the end; close any other."""
        idle = self._idle.setdefault(connection.origin, [])
        if connection.reusable() and len(idle) < self._max_idle:
            connection.idle_since = time.monotonic()
            idle.append(connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                with contextlib.suppress(Exception):
                    connection.close()
        self._idle.clear()
