"""A small HTTP/1.1 load generator on raw asyncio streams, for the benchmarks.

General-purpose clients spend more CPU per request than the server under test, and on a
small machine that measures the client. This one sends a fixed request over keep-alive
connections and reads each response by its Content-Length (or chunked framing).
"""

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


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
