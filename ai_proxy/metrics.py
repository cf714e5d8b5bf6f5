"""The proxy's Prometheus series (SPEC 23), and the few calls that move them: one per event
of an exchange (`ai_proxy.exchange`).

Labels are bounded: a model is a catalog entry's id (the proxy refuses any other before it
gets here), a key is a platform key's label or "own", a status an HTTP status, an error an
HTTP status or a connection failure's type. In multiprocess mode (PROMETHEUS_MULTIPROC_DIR)
every worker writes its own files and `/metrics` (`sam_project.metrics`) adds them up.

Each labelled child is looked up once per process and kept in a dict: the hot path pays a
dict lookup and an increment, not prometheus-client's label validation and lock.
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from ai_proxy.accounting import Usage
from catalog.config import CatalogModel

if TYPE_CHECKING:
    from ai_proxy.exchange import Exchange

Child = TypeVar("Child")

# Seconds; an inference takes from a fraction of a second to minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))
TTFB_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, float("inf"))
TOKEN_KINDS = (
    "input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "output_tokens",
    "reasoning_tokens",
)

REQUESTS = Counter(
    "sam_proxy_requests",
    "Proxy requests answered, by route, model, status and whose key served them.",
    ["route", "model", "status", "source"],
)
LATENCY = Histogram(
    "sam_proxy_request_duration_seconds",
    "Time from a proxy request's arrival to its end (a stream's last byte).",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
TTFB = Histogram(
    "sam_proxy_time_to_first_byte_seconds",
    "Time from a proxy request's arrival to the upstream's first byte.",
    ["route"],
    buckets=TTFB_BUCKETS,
)
UPSTREAM_ATTEMPTS = Counter(
    "sam_proxy_upstream_attempts",
    "Tries of a request upstream, by provider and key label.",
    ["provider", "key"],
)
UPSTREAM_RETRIES = Counter(
    "sam_proxy_upstream_retries",
    "Tries after the first one (another key, or the same after its backoff).",
    ["provider", "key"],
)
UPSTREAM_ERRORS = Counter(
    "sam_proxy_upstream_errors",
    "Upstream tries that failed: the provider's status, or the connection's failure.",
    ["provider", "key", "error"],
)
TOKENS = Counter(
    "sam_proxy_tokens",
    "Tokens of recorded answers, by model and kind (SPEC 20.1; reasoning is part of output).",
    ["model", "kind"],
)
COST = Counter("sam_proxy_cost_usd", "Cost of recorded answers in USD, by model.", ["model"])
LIMIT_REFUSALS = Counter(
    "sam_proxy_limit_refusals",
    "Requests refused by a limit (rate, requests in flight, a daily budget).",
    ["limit"],
)
IN_FLIGHT = Gauge(
    "sam_proxy_requests_in_flight",
    "Proxy requests being answered now.",
    multiprocess_mode="livesum",
)

_children: dict[tuple[object, ...], object] = {}


def _child(metric: Callable[..., Child], key: tuple[object, ...], labels: Sequence[str]) -> Child:
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric(*labels)
    return child  # type: ignore[return-value]


def _counter(metric: Counter, *labels: str) -> Counter:
    return _child(metric.labels, (metric, *labels), labels)


def _histogram(metric: Histogram, *labels: str) -> Histogram:
    return _child(metric.labels, (metric, *labels), labels)


def request_started() -> None:
    IN_FLIGHT.inc()


def request_finished(exchange: "Exchange") -> None:
    """An exchange ended: its request, timings, upstream tries and refusal, if any."""
    IN_FLIGHT.dec()
    route = exchange.route.name
    status = str(exchange.status or 0)
    _counter(REQUESTS, route, exchange.model or "none", status, exchange.paid_by).inc()
    end = exchange.finished_at or exchange.started
    _histogram(LATENCY, route).observe(end - exchange.started)
    if exchange.first_byte_at is not None:
        _histogram(TTFB, route).observe(exchange.first_byte_at - exchange.started)
    if exchange.attempts:
        _upstream_tries(exchange.provider or "none", exchange)
    if exchange.limit_refused is not None:
        _counter(LIMIT_REFUSALS, exchange.limit_refused).inc()


def _upstream_tries(provider: str, exchange: "Exchange") -> None:
    for number, attempt in enumerate(exchange.attempts):
        _counter(UPSTREAM_ATTEMPTS, provider, attempt.key_label).inc()
        if number:
            _counter(UPSTREAM_RETRIES, provider, attempt.key_label).inc()
        if attempt.failure is not None:
            _counter(UPSTREAM_ERRORS, provider, attempt.key_label, attempt.failure).inc()
        elif attempt.status is not None and not 200 <= attempt.status < 300:
            _counter(UPSTREAM_ERRORS, provider, attempt.key_label, str(attempt.status)).inc()


def usage_recorded(model: CatalogModel | None, usage: Usage) -> None:
    """A usage record was written: its tokens by kind and its cost."""
    if model is None:
        return
    for kind in TOKEN_KINDS:
        count = getattr(usage, kind)
        if count:
            _counter(TOKENS, model.id, kind).inc(count)
    cost = usage.cost(model)
    if cost:
        _counter(COST, model.id).inc(float(cost))
