"""A small HTTP/1.1 load generator on raw asyncio streams, for the benchmarks.

General-purpose clients spend more CPU per request than the server under test, and on a
small machine that measures the client. This one sends fixed, pre-built requests over
keep-alive connections and reads each response by its Content-Length (or chunked framing).

- `run`: requests per second and latency of one endpoint (`bench/agent_key.py`);
- `closed_loop`: a measured window of requests at a fixed number in flight, each connection
  warmed by one uncounted request first, optionally with a meter (the server's CPU seconds)
  read over exactly that window; streamed answers whose text deltas carry the fake
  provider's send time (`--stamp`) yield the delay of each delta;
- `at_once`: one request on each of many connections, and how many answers were under way
  at the same moment.
"""

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_STAMP = re.compile(rb'"text": "(\d+\.\d{6}) "')
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)")


@dataclass
class Result:
    requests: int
    errors: int
    elapsed: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def build_request(
    url: str, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    lines = [f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
    lines.append(f"Host: {parts.hostname}:{parts.port}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return parts.hostname or "127.0.0.1", parts.port or 80, raw


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run(
    url: str,
    *,
    seconds: float,
    concurrency: int,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> Result:
    host, port, raw = build_request(url, method, body, headers)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(raw)
                status = await read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status != expect:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Result(len(latencies), errors, time.perf_counter() - began, latencies)


# --- timed exchanges -----------------------------------------------------------------------
@dataclass
class Timing:
    status: int  # 0: the connection closed before the answer was complete
    total: float = 0.0  # request sent → answer complete, seconds
    first_byte: float = 0.0  # request sent → response head in
    chunk_delays: list[float] = field(default_factory=list)  # arrival minus the fake's stamp
    keep_alive: bool = True  # the server left the connection open


@dataclass
class Gauge:
    """Answers under way (head in, body not yet complete), and the most at one moment."""

    now: int = 0
    peak: int = 0

    def opened(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def closed(self) -> None:
        self.now -= 1


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    raw: bytes,
    gauge: Gauge | None = None,
) -> Timing:
    started = time.monotonic()
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    timing = Timing(int(head.split(b" ", 2)[1]), first_byte=time.monotonic() - started)
    if gauge is not None:
        gauge.opened()
    try:
        headers = head.lower()
        timing.keep_alive = b"\r\nconnection: close" not in headers
        if b"\r\ntransfer-encoding: chunked" in headers:
            await _read_chunked(reader, timing)
        else:
            length = _LENGTH.search(headers)
            await reader.readexactly(int(length.group(1)) if length else 0)
    finally:
        if gauge is not None:
            gauge.closed()
    timing.total = time.monotonic() - started
    return timing


class Connection:
    """A keep-alive connection that opens itself again when the server closed it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, raw: bytes, gauge: Gauge | None = None) -> Timing:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        try:
            timing = await exchange(*self._streams, raw, gauge)
        except (asyncio.IncompleteReadError, ConnectionError):
            timing = Timing(0, keep_alive=False)
        if not timing.keep_alive:
            self.close()
        return timing

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _read_chunked(reader: asyncio.StreamReader, timing: Timing) -> None:
    pending = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            return
        arrived = time.monotonic()
        pending += data[:-2]
        *events, pending = pending.split(b"\n\n")
        for event in events:
            stamp = _STAMP.search(event)
            if stamp:
                timing.chunk_delays.append(arrived - float(stamp.group(1)))


# --- measured windows ----------------------------------------------------------------------
Meter = Callable[[], float]  # e.g. the CPU seconds a server process has used so far


@dataclass
class Round:
    timings: list[Timing]
    cpu: float  # what the meter moved between its two readings (0 without a meter)
    metered: float  # seconds between those readings: the window and the settling after it


async def settled(meter: Meter | None, quiet: float = 0.0005, step: float = 0.05) -> float:
    """The meter's reading once it has stopped moving (the server has finished the work of
    the requests before), waiting at most 2 s."""
    if meter is None:
        return 0.0
    last = meter()
    for _ in range(int(2 / step)):
        await asyncio.sleep(step)
        now = meter()
        if now - last < quiet:
            return now
        last = now
    return last


async def closed_loop(
    host: str,
    port: int,
    raw: bytes,
    *,
    concurrency: int,
    seconds: float,
    meter: Meter | None = None,
    spread: float = 0.25,
) -> Round:
    """`concurrency` keep-alive connections, each sending its next request when the last
    one is answered, for `seconds`. Counted: the requests sent inside the window, all of
    which are answered inside it; the meter is read at its two ends, after the warm-up
    requests (one per connection: its handshake) and after the last answer."""
    connections = [Connection(host, port) for _ in range(concurrency)]
    timings: list[Timing] = []
    try:
        await asyncio.gather(*(connection.exchange(raw) for connection in connections))
        before = await settled(meter)
        started = time.monotonic()
        deadline = started + seconds

        async def loop(offset: float, connection: Connection) -> None:
            await asyncio.sleep(offset)  # spread the starts: arrivals, not a thundering herd
            while time.monotonic() < deadline:
                timings.append(await connection.exchange(raw))

        await asyncio.gather(
            *(loop(spread * i / concurrency, c) for i, c in enumerate(connections))
        )
        after = await settled(meter)
        metered = time.monotonic() - started
    finally:
        for connection in connections:
            connection.close()
    return Round(timings, after - before, metered)


async def at_once(
    host: str, port: int, raw: bytes, *, count: int, spread: float = 0.5
) -> tuple[list[Timing], int]:
    """One request on each of `count` new connections, started within `spread` seconds;
    returns the timings and the most answers that were under way at the same moment."""
    gauge = Gauge()

    async def one(offset: float) -> Timing:
        await asyncio.sleep(offset)
        connection = Connection(host, port)
        try:
            return await connection.exchange(raw, gauge)
        finally:
            connection.close()

    timings = await asyncio.gather(*(one(spread * i / count) for i in range(count)))
    return list(timings), gauge.peak
