"""One proxied request from start to outcome, and what watches it.

An `Exchange` carries the facts of one request (route, token, model, status, timings) and
hands every chunk the upstream sends, and then the outcome, to its observers: the request
log line and usage accounting. A metered stream also goes through its meter, which reads
the token counts and decides what the client receives (it drops an event the proxy asked
for and the client did not, or translates the stream). `proxy.new_exchange` attaches the
observers; `proxy._forward` the meter.
"""

import logging
import time
from dataclasses import dataclass, field

from ai_proxy.accounting import StreamMeter
from ai_proxy.errors import ProxyError
from catalog.config import CatalogModel
from catalog.routes import Route
from workspaces.models import WorkspaceToken

logger = logging.getLogger("ai_proxy")


class ExchangeObserver:
    """Sees each chunk relayed to the client (a whole JSON body counts as one chunk) and
    then the outcome, once, also when the client went away or the upstream failed."""

    def on_chunk(self, exchange: "Exchange", chunk: bytes) -> None:
        """Called for every chunk, in order, before it is sent on; keep it cheap."""

    async def on_finish(self, exchange: "Exchange") -> None:
        """Called once the exchange is over, whatever the outcome."""


@dataclass(eq=False)
class Exchange:
    route: Route
    observers: list[ExchangeObserver] = field(default_factory=list)
    # A stream's meter: it reads usage from the stream and decides what the client receives
    # for each chunk (it may drop an event the client did not ask for, or translate).
    rewriter: StreamMeter | None = None
    started: float = field(default_factory=time.perf_counter)
    token: WorkspaceToken | None = None
    model: str | None = None
    provider: str | None = None
    price: CatalogModel | None = None
    usage_dialect: str | None = None  # how to read usage from the answer; None: not metered
    stream_requested: bool = False
    streamed: bool = False
    status: int | None = None
    upstream_status: int | None = None
    error: str | None = None  # the error code answered, if any
    first_byte_at: float | None = None
    finished_at: float | None = None
    completed: bool = False  # the whole upstream answer went through
    client_disconnected: bool = False

    def observe(self, chunk: bytes) -> None:
        """Show what the upstream sent (a stream's chunk, or a whole JSON answer)."""
        if self.first_byte_at is None:
            self.first_byte_at = time.perf_counter()
        for observer in self.observers:
            observer.on_chunk(self, chunk)

    def relay(self, chunk: bytes) -> bytes:
        """Observe a stream's chunk; returns what the client receives for it."""
        self.observe(chunk)
        return chunk if self.rewriter is None else self.rewriter.feed(chunk)

    def relay_end(self) -> bytes:
        """What the client receives after the last upstream chunk."""
        return b"" if self.rewriter is None else self.rewriter.close()

    def refused(self, error: ProxyError) -> None:
        """The request ends with `error`; before the stream started, it is also the status."""
        self.error = error.code
        if self.status is None:
            self.status = error.status

    async def finish(self) -> None:
        if self.finished_at is not None:
            return
        self.finished_at = time.perf_counter()
        for observer in self.observers:
            await observer.on_finish(self)

    @property
    def latency_ms(self) -> float:
        end = self.finished_at or time.perf_counter()
        return round((end - self.started) * 1000, 2)

    @property
    def ttfb_ms(self) -> float | None:
        if self.first_byte_at is None:
            return None
        return round((self.first_byte_at - self.started) * 1000, 2)


class RequestLog(ExchangeObserver):
    """The one `ai_proxy.request` line per request. Never a body, a prompt, a key or a token."""

    async def on_finish(self, exchange: Exchange) -> None:
        token = exchange.token
        logger.info(
            "ai_proxy.request",
            extra={
                "route": exchange.route.name,
                "model": exchange.model,
                "provider": exchange.provider,
                "status": exchange.status,
                "upstream_status": exchange.upstream_status,
                "error": exchange.error,
                "streamed": exchange.streamed,
                "latency_ms": exchange.latency_ms,
                "ttfb_ms": exchange.ttfb_ms,
                "client_disconnected": exchange.client_disconnected,
                "workspace_id": str(token.workspace_id) if token else None,
            },
        )
