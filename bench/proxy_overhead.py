"""Benchmark: what the AI proxy costs and adds, next to the SPEC §25 targets.

Starts, each in a process of its own (`bench/servers.py`): the fake provider
(`python -m tests.fakes.upstream`), the project's server (uvicorn with the production flags
of `make run`, a throw-away SQLite database with one workspace and a platform key), a bare
aiohttp relay (`bench/bare_relay.py`: aiohttp server and client, no auth, no accounting, no
JSON parsing) and, for the floor phase, the floor server (below), in front of the same
fake. Every request is the same ~88 KB Claude Code request (`bench/claude_code_request.py`:
system prompt blocks with `cache_control`, twelve tool schemas, a short conversation, its
headers), sent to the fake directly, through the proxy and through the relay by a lean
load generator (`bench/loadgen.py`), in alternating rounds (the targets interleaved, the
order turning each round) so that load from elsewhere on the machine lands on all of them:

- JSON answers, `--concurrency` (10) requests in flight: the server CPU per request of the
  proxy against the relay's (user + system time of the server process and its threads,
  read at the two ends of each measured window: after each connection's uncounted first
  request and once the server has gone quiet after the last answer; per request = CPU over
  the windows, less the server's idle rate (measured once, with no request) times their
  length, ÷ requests answered in them); the latency added over calling the fake directly
  (p50, p99; the relay's for comparison);
- the floor (informational rows, no target): the project's server again, the same command,
  flags and ASGI application (`sam_project.asgi`, `ProxyASGIHandler` with
  `AI_PROXY_MIDDLEWARE` under /ai/), on settings (`bench/floor_settings.py`) whose URLconf
  is one async view (`bench/floor_app.py`) that reads the body, sends it with the proxy's
  aiohttp session to the fake and answers the fake's bytes: no auth, no limits, no
  parsing, no accounting. It takes JSON requests only, measured in the JSON rounds next to
  the proxy and the relay (a fourth target; asked for alone, those rounds run for it): its
  CPU per request against the relay's (what uvicorn and Django's request cycle cost before
  the proxy does anything), the proxy's less the floor's in ms (what the proxy's own work
  costs) and its added p50;
- streams, `--streams` (10) at a time: the same CPU comparison; the fake stamps each text
  delta with the moment it sent it, so the delay added per delta is its arrival time minus
  that stamp, through the proxy minus direct; the time to the response head likewise;
- open streams: `--open-streams` (500) streams at once through one worker of its own, in
  front of a second fake whose streams last `--open-stream-seconds`, three times over: all
  of them must be under way at the same moment, and the worker's memory after the third
  round may exceed the first's by at most 10 %;
- failover: a second worker over a pool of two platform keys, the first-chosen one (weight
  1000 to 1) answered 529 at once by a fake of its own (with `retry-after: 0`, so that every
  request meets it): its JSON p50, less the plain proxy path's, less the p50 of that 529
  round trip made directly, is what failing over costs beyond the one extra upstream round
  trip SPEC 25 allows (target: the 2 ms the proxy may add to any request).

Prints one table (row, measured value, target, pass or fail, details) and exits non-zero if
a target is missed or a request is not answered 200 (a row counts them). If nothing gets
through, or a process does not start, it stops with the end of each process's log.

    .venv/bin/python bench/proxy_overhead.py [--seconds 12] [--rounds 6]
        [--concurrency 10] [--upstream-delay 0.25] [--body-bytes 88000]
        [--streams 10] [--chunks 20] [--chunk-delay 0.02]
        [--open-streams 500] [--open-stream-seconds 10]
        [--only json,floor,stream,open-streams,failover]

`--seconds` is the measured time per target (direct, proxy, relay, floor) in each phase,
split over `--rounds`; `--only` runs some phases (in the order above, and prints their
rows). `BENCH_SERVER` replaces `-m uvicorn` in the server command (another command that
takes uvicorn's options).

Rows and phases are data: a phase (`PHASES`) measures and keeps its rounds under its name,
a row (`ROWS`) names its phase, unit and target and reads its value from those rounds. A
new measurement is one more phase and one more row; a new server to set against the others
in the same rounds is one more target, with the kinds of request it answers.
"""

import argparse
import json
import operator
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import claude_code_request
import loadgen
import servers
import uvloop
from loadgen import Round, Timing

PATHS = {
    "direct": claude_code_request.PATH,
    "proxy": "/ai/anthropic" + claude_code_request.PATH,
    "relay": claude_code_request.PATH,
}
PATHS["floor"] = PATHS["proxy"]


@dataclass
class Target:
    """Where one kind of client request goes, pre-built, and the meter of its server."""

    host: str
    port: int
    # By kind ("json", "stream"): the phases of a kind measure the targets that have one.
    requests: dict[str, bytes]
    meter: loadgen.Meter | None = None


@dataclass
class Bench:
    args: argparse.Namespace
    stack: ExitStack
    logs: Path
    db: servers.Database
    fake: str
    proxy: servers.Server
    relay: servers.Server
    floor: servers.Server | None
    targets: dict[str, Target] = field(default_factory=dict)
    # phase → target → rounds; and values a phase measured outright.
    rounds: dict[str, dict[str, list[Round]]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def target(
    url: str,
    path: str,
    credential: dict[str, str],
    body_bytes: int,
    kinds: tuple[str, ...] = ("json", "stream"),
) -> Target:
    headers = {**claude_code_request.headers(), **credential}
    requests = {}
    for kind in kinds:
        body = claude_code_request.body(stream=kind == "stream", size=body_bytes)
        host, port, raw = loadgen.build_request(url + path, "POST", body, headers)
        requests[kind] = raw
    return Target(host, port, requests)


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return uvloop.run(coroutine)


# --- phases --------------------------------------------------------------------------------
async def _alternate(bench: Bench, kind: str, concurrency: int) -> dict[str, list[Round]]:
    names = [name for name, where in bench.targets.items() if kind in where.requests]
    rounds: dict[str, list[Round]] = {name: [] for name in names}
    seconds = bench.args.seconds / bench.args.rounds
    started = time.process_time()
    for number in range(bench.args.rounds):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            where = bench.targets[name]
            measured = await loadgen.closed_loop(
                where.host,
                where.port,
                where.requests[kind],
                concurrency=concurrency,
                seconds=seconds,
                meter=where.meter,
            )
            measured.timings = _answered(bench, measured.timings, f"{kind} through {name}")
            rounds[name].append(measured)
    # The load generator's own CPU, to show it is not what is measured.
    cpu, sent = bench.values.get("client", (0.0, 0))
    sent += sum(len(r.timings) + concurrency for by in rounds.values() for r in by)
    bench.values["client"] = (cpu + time.process_time() - started, sent)
    return rounds


def json_phase(bench: Bench) -> None:
    bench.rounds["json"] = run(_alternate(bench, "json", bench.args.concurrency))


def floor_phase(bench: Bench) -> None:
    """The floor server (started with the others when this phase is asked for) answers JSON
    requests only, so it is measured in the JSON phase's rounds, next to the proxy and the
    relay; asked for without that phase, those rounds run here."""
    if "json" not in bench.rounds:
        json_phase(bench)


def stream_phase(bench: Bench) -> None:
    bench.rounds["stream"] = run(_alternate(bench, "stream", bench.args.streams))


def open_streams_phase(bench: Bench) -> None:
    """A worker of its own in front of a fake whose streams last long enough for all of
    them to be open at once."""
    args = bench.args
    fake = servers.start_fake(
        bench.stack,
        bench.logs,
        "fake-long",
        delay=args.upstream_delay,
        chunks=args.chunks,
        chunk_delay=args.open_stream_seconds / args.chunks,
        stamp=False,
    )
    worker = servers.start_proxy(bench.stack, bench.logs, "proxy-open-streams", bench.db, fake)
    where = target(worker.url, PATHS["proxy"], _bearer(bench), args.body_bytes)
    peaks, rss = [], []
    for _ in range(3):
        timings, peak = run(
            loadgen.at_once(
                where.host, where.port, where.requests["stream"], count=args.open_streams
            )
        )
        _answered(bench, timings, "open streams")
        peaks.append(peak)
        rss.append(worker.rss_mib())
    bench.values["open-streams"] = {"peaks": peaks, "rss": rss}


def failover_phase(bench: Bench) -> None:
    """A pool of two platform keys in front of a fake that answers the first-chosen one
    (weight 1000 to 1) 529 at once, with `retry-after: 0` so that every request meets it;
    next to the plain proxy path and to that 529 round trip made directly (one at a time),
    in alternating rounds of JSON requests."""
    args = bench.args
    fake = servers.start_fake(
        bench.stack,
        bench.logs,
        "fake-failover",
        delay=args.upstream_delay,
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
        stamp=False,
        overloaded_key=servers.OVERLOADED_KEY,
    )
    db = servers.database(
        bench.logs, "failover", more_keys=(("overloaded", servers.OVERLOADED_KEY, 1000),)
    )
    worker = servers.start_proxy(bench.stack, bench.logs, "proxy-failover", db, fake)
    token = {"authorization": f"Bearer {db.workspace_token}"}
    targets = {
        "plain": bench.targets["proxy"],
        "failover": target(worker.url, PATHS["proxy"], token, args.body_bytes),
        "overloaded": target(
            fake, PATHS["direct"], {"x-api-key": servers.OVERLOADED_KEY}, args.body_bytes
        ),
    }
    run(_warm_up_failover(targets))
    seconds = args.seconds / args.rounds
    timings: dict[str, list[Timing]] = {name: [] for name in targets}
    names = list(targets)
    for number in range(args.rounds):
        for name in names[number % 3 :] + names[: number % 3]:
            where = targets[name]
            measured = run(
                loadgen.closed_loop(
                    where.host,
                    where.port,
                    where.requests["json"],
                    # The 529 alone, one at a time: a round trip, not a queue at the fake.
                    concurrency=1 if name == "overloaded" else args.concurrency,
                    seconds=seconds,
                )
            )
            expected = 529 if name == "overloaded" else 200
            answered = [t for t in measured.timings if t.status == expected]
            failed = [t.status for t in measured.timings if t.status != expected]
            bench.values.setdefault("failed", {}).setdefault(f"failover: {name}", []).extend(failed)
            timings[name].extend(answered)
    bench.values["failover"] = timings
    bench.values["failover-tries"] = _tries(bench.logs / "proxy-failover.log")


def _tries(log: Path) -> Counter[int]:
    """How many upstream tries each request of the failover worker took (its request log
    lines say)."""
    tries: Counter[int] = Counter()
    for line in log.read_text().splitlines():
        if '"ai_proxy.request"' in line:
            tries[json.loads(line).get("attempts", 0)] += 1
    return tries


async def _warm_up_failover(targets: dict[str, Target]) -> None:
    for where in targets.values():
        await loadgen.closed_loop(
            where.host, where.port, where.requests["json"], concurrency=4, seconds=1
        )


PHASES: dict[str, Callable[[Bench], None]] = {
    "json": json_phase,
    "floor": floor_phase,
    "stream": stream_phase,
    "open-streams": open_streams_phase,
    "failover": failover_phase,
}


def _answered(bench: Bench | None, timings: list[Timing], what: str) -> list[Timing]:
    """The requests answered 200; the others are counted under `what` (a row of their own;
    status 0: the connection closed first). None answered: the run stops."""
    answered = [t for t in timings if t.status == 200]
    failed = [t.status for t in timings if t.status != 200]
    if not answered:
        example = f" (e.g. {failed[0]})" if failed else ""
        raise RuntimeError(f"{what}: none of {len(timings)} requests answered 200{example}")
    if bench is not None:
        bench.values.setdefault("failed", {}).setdefault(what, []).extend(failed)
    elif failed:
        raise RuntimeError(f"{what}: {len(failed)} of {len(timings)} requests failed")
    return answered


def _bearer(bench: Bench) -> dict[str, str]:
    return {"authorization": f"Bearer {bench.db.workspace_token}"}


# --- rows ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    value: float
    detail: str = ""


EVERY_PHASE = "*"  # a row shown whichever phases ran


@dataclass(frozen=True)
class Row:
    label: str
    phase: str
    unit: str
    target: float | None  # None: reported, not judged
    read: Callable[[Bench], Reading]
    at_least: bool = False  # the target is a floor, not a ceiling
    digits: int = 2

    def verdict(self, value: float) -> str:
        if self.target is None:
            return "-"
        ok = value >= self.target if self.at_least else value <= self.target
        return "pass" if ok else "FAIL"


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def _cpu_ms(rounds: list[Round], idle: float) -> float:
    """CPU milliseconds per request answered, less what the server spends when idle."""
    busy = sum(r.cpu - idle * r.metered for r in rounds)
    return busy / sum(len(r.timings) for r in rounds) * 1000


def cpu_compared(
    phase: str,
    mine: str = "proxy",
    yardstick: str = "relay",
    how: Callable[[float, float], float] = operator.truediv,
) -> Callable[[Bench], Reading]:
    """The server CPU per request through `mine` against `yardstick`'s in the same rounds:
    their ratio, or what `how` makes of the two (milliseconds each)."""

    def read(bench: Bench) -> Reading:
        mine_rounds, their_rounds = bench.rounds[phase][mine], bench.rounds[phase][yardstick]
        idle_m, idle_y = bench.values["idle"][mine], bench.values["idle"][yardstick]
        m_ms, y_ms = _cpu_ms(mine_rounds, idle_m), _cpu_ms(their_rounds, idle_y)
        pairs = zip(mine_rounds, their_rounds, strict=True)
        each = [how(_cpu_ms([m], idle_m), _cpu_ms([y], idle_y)) for m, y in pairs]
        counts = [sum(len(r.timings) for r in rounds) for rounds in (mine_rounds, their_rounds)]
        return Reading(
            how(m_ms, y_ms),
            f"{mine} {m_ms:.2f} ms, {yardstick} {y_ms:.2f} ms "
            f"({counts[0]} and {counts[1]} requests); rounds {min(each):.2f}-{max(each):.2f}; "
            f"idle {idle_m * 1000:.1f} and {idle_y * 1000:.1f} ms/s taken off",
        )

    return read


def added(
    phase: str, through: str, fraction: float, of: Callable[[Timing], list[float]]
) -> Callable[[Bench], Reading]:
    """A percentile through `through` minus the same percentile calling the fake directly."""

    def read(bench: Bench) -> Reading:
        def values(name: str) -> list[float]:
            return [v for r in bench.rounds[phase][name] for t in r.timings for v in of(t)]

        mine, direct = pct(values(through), fraction), pct(values("direct"), fraction)
        return Reading(mine - direct, f"{through} {mine:.2f} ms, direct {direct:.2f} ms")

    return read


def _total(t: Timing) -> list[float]:
    return [t.total]


def _first_byte(t: Timing) -> list[float]:
    return [t.first_byte]


def _chunk_delays(t: Timing) -> list[float]:
    return t.chunk_delays


def open_at_once(bench: Bench) -> Reading:
    peaks = bench.values["open-streams"]["peaks"]
    count = bench.args.open_streams
    return Reading(min(peaks) / count * 100, f"most under way at once, per round: {peaks}")


def failures(bench: Bench) -> Reading:
    failed: dict[str, list[int]] = bench.values.get("failed", {})
    detail = "; ".join(
        f"{what}: {len(statuses)}, statuses {sorted(set(statuses))}"
        for what, statuses in failed.items()
        if statuses
    )
    return Reading(sum(len(statuses) for statuses in failed.values()), detail or "none")


def failover_beyond_one_round_trip(bench: Bench) -> Reading:
    """p50 through the pool whose first-chosen key answers 529, less the plain path's p50,
    less the p50 of that 529 round trip made directly: what failing over costs beyond the
    one extra upstream round trip SPEC 25 allows."""
    timings = bench.values["failover"]
    failover, plain, overloaded = (
        pct([t.total for t in timings[name]], 0.5) for name in ("failover", "plain", "overloaded")
    )
    tries = bench.values["failover-tries"]
    share = tries[2] / max(1, sum(tries.values())) * 100
    return Reading(
        failover - plain - overloaded,
        f"failover {failover:.2f} ms, plain {plain:.2f} ms, a 529 round trip "
        f"{overloaded:.2f} ms ({len(timings['failover'])} requests, {share:.1f} % of the "
        "worker's in two tries)",
    )


def rss_growth(bench: Bench) -> Reading:
    rss = bench.values["open-streams"]["rss"]
    return Reading(
        (rss[-1] - rss[0]) / rss[0] * 100,
        "MiB after each round: " + ", ".join(f"{m:.0f}" for m in rss),
    )


ROWS: tuple[Row, ...] = (
    Row("server CPU per request, JSON: proxy / bare relay", "json", "x", 2.0, cpu_compared("json")),
    Row("server CPU per request, JSON: floor / bare relay", "floor", "x", None, cpu_compared("json", "floor")),
    Row("server CPU per request, JSON: proxy - floor", "floor", "ms", None, cpu_compared("json", "proxy", "floor", operator.sub)),
    Row("server CPU per request, streamed: proxy / bare relay", "stream", "x", 2.0, cpu_compared("stream")),
    Row("added latency p50, JSON (proxy - direct)", "json", "ms", 2.0, added("json", "proxy", 0.5, _total)),
    Row("added latency p99, JSON (proxy - direct)", "json", "ms", None, added("json", "proxy", 0.99, _total)),
    Row("added latency p50, JSON (bare relay - direct)", "json", "ms", None, added("json", "relay", 0.5, _total)),
    Row("added latency p50, JSON (floor - direct)", "floor", "ms", None, added("json", "floor", 0.5, _total)),
    Row("added delay per streamed chunk p50", "stream", "ms", 1.0, added("stream", "proxy", 0.5, _chunk_delays)),
    Row("added delay per streamed chunk p99", "stream", "ms", None, added("stream", "proxy", 0.99, _chunk_delays)),
    Row("added time to first byte p50, streamed", "stream", "ms", 5.0, added("stream", "proxy", 0.5, _first_byte)),
    Row("open streams under way at once, of --open-streams", "open-streams", "%", 100.0, open_at_once, at_least=True),
    Row("open streams: worker RSS growth, round 1 to 3", "open-streams", "%", 10.0, rss_growth),
    Row("failover: added p50 beyond one 529 round trip", "failover", "ms", 2.0, failover_beyond_one_round_trip),
    Row("requests not answered 200, every phase", EVERY_PHASE, "", 0, failures, digits=0),
)  # fmt: skip


def table(bench: Bench, phases: list[str]) -> tuple[list[str], int]:
    lines = [f"{'row':52} {'measured':>10} {'target':>9}  {'result':6} details"]
    missed = 0
    for row in ROWS:
        if row.phase not in (*phases, EVERY_PHASE):
            continue
        reading = row.read(bench)
        verdict = row.verdict(reading.value)
        missed += verdict == "FAIL"
        unit = f" {row.unit}" if row.unit not in ("x", "") else row.unit
        bound = (
            "-" if row.target is None else f"{'>=' if row.at_least else '<='} {row.target:g}{unit}"
        )
        measured = f"{reading.value:.{row.digits}f}{unit}"
        lines.append(f"{row.label:52} {measured:>10} {bound:>9}  {verdict:6} {reading.detail}")
    return lines, missed


# --- the run -------------------------------------------------------------------------------
def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="per target and phase")
    parser.add_argument("--rounds", type=int, default=6, help="alternations per phase")
    parser.add_argument("--concurrency", type=int, default=10, help="JSON requests in flight")
    parser.add_argument("--upstream-delay", type=float, default=0.25, help="fake's answer delay")
    parser.add_argument("--body-bytes", type=int, default=claude_code_request.DEFAULT_SIZE)
    parser.add_argument("--streams", type=int, default=10, help="streams in flight")
    parser.add_argument("--chunks", type=int, default=20, help="text deltas per stream")
    parser.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between deltas")
    parser.add_argument("--open-streams", type=int, default=500)
    parser.add_argument("--open-stream-seconds", type=float, default=10.0)
    parser.add_argument("--only", default=",".join(PHASES), help="phases, comma-separated")
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}; known: {', '.join(PHASES)}")
    return args


def setup(stack: ExitStack, tmp: Path, args: argparse.Namespace, phases: list[str]) -> Bench:
    fake = servers.start_fake(
        stack,
        tmp,
        "fake",
        delay=args.upstream_delay,
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
        stamp=True,
    )
    db = servers.database(tmp)
    proxy = servers.start_proxy(stack, tmp, "proxy", db, fake)
    relay = servers.start_relay(stack, tmp, fake)
    floor = servers.start_floor(stack, tmp, db, fake) if "floor" in phases else None
    bench = Bench(args, stack, tmp, db, fake, proxy, relay, floor)
    bench.targets = {
        "direct": target(
            fake, PATHS["direct"], {"x-api-key": servers.PLATFORM_KEY}, args.body_bytes
        ),
        "proxy": target(proxy.url, PATHS["proxy"], _bearer(bench), args.body_bytes),
        "relay": target(relay.url, PATHS["relay"], _bearer(bench), args.body_bytes),
    }
    metered = {"proxy": proxy, "relay": relay}
    if floor is not None:
        bench.targets["floor"] = target(
            floor.url, PATHS["floor"], _bearer(bench), args.body_bytes, kinds=("json",)
        )
        metered["floor"] = floor
    for name, server in metered.items():
        bench.targets[name].meter = server.cpu_seconds
    run(_warm_up(bench))
    bench.values["idle"] = _idle_rates(metered)
    return bench


def _idle_rates(measured: dict[str, servers.Server], seconds: float = 3.0) -> dict[str, float]:
    """CPU seconds per second each server spends with no request (timers, housekeeping)."""
    time.sleep(0.5)
    before = {name: server.cpu_seconds() for name, server in measured.items()}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return {
        name: (server.cpu_seconds() - before[name]) / elapsed for name, server in measured.items()
    }


async def _warm_up(bench: Bench) -> None:
    """Connections, caches and the platform key, on every path; not counted."""
    for where in bench.targets.values():
        for raw in where.requests.values():
            warm = await loadgen.closed_loop(where.host, where.port, raw, concurrency=4, seconds=1)
            _answered(None, warm.timings, "warm-up")


def main() -> int:
    args = arguments()
    # In the order of PHASES: the floor joins the JSON rounds if they run.
    phases = [name for name in PHASES if name in args.only.split(",")]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        try:
            bench = setup(stack, Path(tmp), args, phases)
            for name in phases:
                PHASES[name](bench)
        except RuntimeError as error:
            print(f"benchmark stopped: {error}", file=sys.stderr)
            for log in sorted(Path(tmp).glob("*.log")):
                print(f"--- the end of {log.name}:\n{servers.tail(log)}", file=sys.stderr)
            return 2
        lines, missed = table(bench, phases)
    client_cpu, sent = bench.values.get("client", (0.0, 0))
    body_kb = len(claude_code_request.body(stream=False, size=args.body_bytes)) / 1000
    print(
        f"\nAI proxy against a bare aiohttp relay and the fake provider directly "
        f"({body_kb:.0f} KB requests, upstream answers after {args.upstream_delay * 1000:.0f} ms)"
    )
    print("\n".join(lines))
    if sent:
        print(
            f"(the load generator's own CPU in the alternating rounds: "
            f"{client_cpu / sent * 1000:.2f} ms per request sent)"
        )
    print("all targets met" if not missed else f"{missed} target(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
