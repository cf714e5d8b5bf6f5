"""Benchmark: what the AI proxy adds over calling the provider directly (SPEC §18).

Starts the fake provider (`tests/fakes/upstream.py`) and the server (uvicorn, production
flags) in processes of their own, on a throw-away SQLite database with one workspace, then
sends the same Anthropic Messages request straight to the fake and through the proxy:

- non-streaming latency with 1 and with 50 requests in flight. The fake answers after
  `--upstream-delay` (a model's answer takes that long or longer), so 50 in flight is a
  steady 50 / delay requests per second rather than a saturation test;
- streams: the fake stamps each text delta with the moment it sent it; the delay added per
  chunk is the arrival time minus that stamp, through the proxy minus direct; and the
  time to first byte, through the proxy minus direct;
- 500 streams open at once through one worker, three times over: the worker's memory
  after the third round may not exceed the first by more than 10 %.

Direct and proxied measurements alternate in short rounds, so a burst of load from
elsewhere on the machine lands on both. Each connection's first request (its TCP
handshake) is left out. Prints a table with the targets; exits non-zero if one is missed.

    .venv/bin/python bench/proxy_overhead.py [--seconds 12] [--upstream-delay 0.25]
"""

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_KEY = "sk-ant-api03-bench-platform-key-000000000000000000"
BODY = json.dumps(
    {
        "model": "claude-haiku-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello to the benchmark, please."}],
    }
).encode()
STREAM_BODY = json.dumps({**json.loads(BODY), "stream": True}).encode()
ROUNDS = 4
_STAMP = re.compile(rb'"text": "(\d+\.\d{6}) "')


# --- a lean HTTP/1.1 client: the load generator must not be what is measured ---------------
@dataclass
class Target:
    host: str
    port: int
    request: bytes
    stream_request: bytes


def target(url: str, path: str, headers: dict[str, str]) -> Target:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    def build(body: bytes) -> bytes:
        lines = [f"POST {parts.path}{path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    return Target(host, port, build(BODY), build(STREAM_BODY))


@dataclass
class Timing:
    status: int
    total: float
    first_byte: float  # headers and first body bytes in
    chunk_delays: list[float] = field(default_factory=list)  # arrival minus the fake's stamp


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> Timing:
    started = time.monotonic()
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    first_byte = time.monotonic() - started
    status = int(head.split(b" ", 2)[1])
    headers = head.lower()
    timing = Timing(status, 0.0, first_byte)
    if b"transfer-encoding: chunked" in headers:
        pending = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            arrived = time.monotonic()
            if size == 0:
                break
            pending += data[:-2]
            *complete, pending = pending.split(b"\n\n")
            for event in complete:
                stamp = _STAMP.search(event)
                if stamp:
                    timing.chunk_delays.append(arrived - float(stamp.group(1)))
    else:
        length = int(re.search(rb"content-length: (\d+)", headers).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
    timing.total = time.monotonic() - started
    return timing


async def closed_loop(
    where: Target, *, concurrency: int, seconds: float, stream: bool
) -> list[Timing]:
    """`concurrency` connections, each sending its next request when the last one is done."""
    timings: list[Timing] = []
    deadline = time.monotonic() + seconds
    raw = where.stream_request if stream else where.request

    async def connection(offset: float) -> None:
        reader, writer = await asyncio.open_connection(where.host, where.port)
        await asyncio.sleep(offset)  # spread the starts: arrivals, not a thundering herd
        try:
            await exchange(reader, writer, raw)  # warms the connection; not counted
            while time.monotonic() < deadline:
                timings.append(await exchange(reader, writer, raw))
        finally:
            writer.close()

    spread = 0.25
    await asyncio.gather(*(connection(spread * i / concurrency) for i in range(concurrency)))
    return timings


# --- the processes under test ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(command: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=10)


def server_env(db_path: str, upstream_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SAM_ENV_FILE": "",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "CREDENTIAL_ENCRYPTION_KEYS": "k1:" + "b" * 64,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "AI_PROXY_PUBLIC_URL": "http://127.0.0.1",
        "AI_PROXY_ANTHROPIC_UPSTREAM": upstream_url,
        "AI_PROXY_ANTHROPIC_API_KEY": PLATFORM_KEY,
        # The benchmark measures the proxy's work, limits included, not their refusals.
        "AI_PROXY_RATE_LIMIT_RPM": "100000000",
        "AI_PROXY_DAILY_INPUT_TOKENS": "1000000000000",
        "AI_PROXY_DAILY_OUTPUT_TOKENS": "1000000000000",
        # The production default: one JSON line per request, written (here to /dev/null).
        "LOG_LEVEL": "INFO",
    }


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def wait_for(host: str, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


# --- measurements -------------------------------------------------------------------------
def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


@dataclass
class Row:
    what: str
    direct: float
    proxied: float
    target: float | None  # the largest acceptable difference, in ms

    @property
    def added(self) -> float:
        return self.proxied - self.direct

    @property
    def ok(self) -> bool:
        return self.target is None or self.added <= self.target


def compare(direct: list[Timing], proxied: list[Timing], label: str, targets: dict) -> list[Row]:
    for timings in (direct, proxied):
        failed = [t.status for t in timings if t.status != 200]
        if failed:
            raise RuntimeError(f"{label}: {len(failed)} requests failed (e.g. {failed[0]})")
    rows = []
    for name, fraction in (("p50", 0.50), ("p99", 0.99)):
        rows.append(
            Row(
                f"{label} latency {name}",
                pct([t.total for t in direct], fraction),
                pct([t.total for t in proxied], fraction),
                targets.get(name),
            )
        )
    return rows


def streaming_rows(direct: list[Timing], proxied: list[Timing]) -> list[Row]:
    def chunk_delays(timings: list[Timing]) -> list[float]:
        return [delay for t in timings for delay in t.chunk_delays]

    return [
        Row(
            "stream chunk delay p50",
            pct(chunk_delays(direct), 0.5),
            pct(chunk_delays(proxied), 0.5),
            1.0,
        ),
        Row(
            "stream chunk delay p99",
            pct(chunk_delays(direct), 0.99),
            pct(chunk_delays(proxied), 0.99),
            None,
        ),
        Row(
            "stream time to first byte p50",
            pct([t.first_byte for t in direct], 0.5),
            pct([t.first_byte for t in proxied], 0.5),
            5.0,
        ),
    ]


async def alternating(
    direct: Target, proxied: Target, *, concurrency: int, seconds: float, stream: bool
) -> tuple[list[Timing], list[Timing]]:
    d: list[Timing] = []
    p: list[Timing] = []
    for _ in range(ROUNDS):
        d += await closed_loop(
            direct, concurrency=concurrency, seconds=seconds / ROUNDS, stream=stream
        )
        p += await closed_loop(
            proxied, concurrency=concurrency, seconds=seconds / ROUNDS, stream=stream
        )
    return d, p


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def open_streams(proxied: Target, server_pid: int, count: int) -> list[Row]:
    """`count` streams at once, three rounds; memory after each round."""
    after: list[float] = []
    for _ in range(3):
        timings = await closed_loop(proxied, concurrency=count, seconds=2, stream=True)
        if len(timings) < count or any(t.status != 200 for t in timings):
            raise RuntimeError(f"{count} open streams: some failed")
        after.append(rss_mib(server_pid))
    growth = (after[2] - after[0]) / after[0] * 100
    # Rows read: first round, third round, growth in MiB; the target is on the percentage.
    return [
        Row(f"{count} open streams: worker RSS MiB", after[0], after[2], None),
        Row(f"{count} open streams: RSS growth %", 0.0, growth, 10.0),
    ]


async def run_all(
    direct: Target, proxied: Target, server_pid: int, args: argparse.Namespace
) -> list[Row]:
    # Warm both paths (connections, caches, the platform key) before measuring.
    await closed_loop(direct, concurrency=4, seconds=1, stream=False)
    await closed_loop(proxied, concurrency=4, seconds=1, stream=False)
    rows: list[Row] = []
    for concurrency, targets in ((1, {}), (50, {"p50": 2.0, "p99": 10.0})):
        d, p = await alternating(
            direct, proxied, concurrency=concurrency, seconds=args.seconds, stream=False
        )
        rows += compare(d, p, f"{concurrency} in flight", targets)
    d, p = await alternating(
        direct, proxied, concurrency=args.streams, seconds=args.seconds, stream=True
    )
    compare(d, p, "streams", {})
    rows += streaming_rows(d, p)
    rows += await open_streams(proxied, server_pid, args.open_streams)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="per measurement")
    parser.add_argument("--upstream-delay", type=float, default=0.25)
    parser.add_argument("--streams", type=int, default=10, help="concurrent streams")
    parser.add_argument("--chunks", type=int, default=20, help="text deltas per stream")
    parser.add_argument("--chunk-delay", type=float, default=0.02)
    parser.add_argument("--open-streams", type=int, default=500)
    args = parser.parse_args()

    fake_command = [sys.executable, "-m", "tests.fakes.upstream", "--stamp"]
    fake_command += ["--delay", str(args.upstream_delay), "--chunks", str(args.chunks)]
    fake_command += ["--chunk-delay", str(args.chunk_delay)]
    with tempfile.TemporaryDirectory() as tmp, process(fake_command) as fake:
        assert fake.stdout is not None
        upstream_url = fake.stdout.readline().strip()
        env = server_env(os.path.join(tmp, "bench.sqlite3"), upstream_url)
        manage(env, "migrate", "--noinput", "-v0")
        created = json.loads(manage(env, "create_workspace", "--user", "bench", "--create-user"))
        port = free_port()
        server_command = [
            sys.executable,
            *os.environ.get("BENCH_SERVER", "-m uvicorn").split(),
            "sam_project.asgi:application",
        ]
        server_command += ["--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop"]
        server_command += ["--http", "httptools", "--lifespan", "on", "--no-access-log"]
        with process(server_command, env) as server:
            wait_for("127.0.0.1", port)
            direct = target(upstream_url, "/v1/messages", {"x-api-key": PLATFORM_KEY})
            proxied = target(
                f"http://127.0.0.1:{port}",
                "/ai/anthropic/v1/messages",
                {"Authorization": f"Bearer {created['callback_token']}"},
            )
            rows = asyncio.run(run_all(direct, proxied, server.pid, args))

    print(f"\nAI proxy overhead (upstream answers after {args.upstream_delay * 1000:.0f} ms)")
    print("(milliseconds, except the memory rows: MiB after the first and third rounds, growth %)")
    print(f"{'measure':34} {'direct':>10} {'proxy':>10} {'added':>9} {'target':>8}")
    for row in rows:
        target_text = f"≤ {row.target:g}" if row.target is not None else "-"
        mark = "" if row.ok else "  MISSED"
        print(
            f"{row.what:34} {row.direct:10.2f} {row.proxied:10.2f} {row.added:9.2f} "
            f"{target_text:>8}{mark}"
        )
    missed = [row for row in rows if not row.ok]
    print("all targets met" if not missed else f"{len(missed)} target(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
