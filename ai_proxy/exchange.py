"""One proxied request from start to outcome.

An `Exchange` carries the facts of one request (route, token, model, key, status, timings),
passes a stream's chunks through its meter (which reads the token counts and decides what
the client receives), records the usage once, and at the end tells its observers (the
request log line) how it went.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field

from ai_proxy import alerts, metrics
from ai_proxy.accounting import StreamMeter, answer_facts
from ai_proxy.errors import LimitReached, ProxyError
from ai_proxy.failover import Attempt
from ai_proxy.limits import Slot
from ai_proxy.models import PaidBy
from ai_proxy.plans import Plan
from ai_proxy.policy import response_remember
from ai_proxy.usage import usage_record_from_exchange
from catalog.config import CatalogModel
from catalog.routes import Route
from workspaces.tokens import LiveToken

logger = logging.getLogger("ai_proxy")


@dataclass(eq=False)
class Exchange:
    route: Route
    started: float = field(default_factory=time.perf_counter)
    token: LiveToken | None = None
    entry: CatalogModel | None = None
    plan: Plan | None = None
    # Every try upstream (SPEC 21); the last one is the key that served the answer.
    attempts: list[Attempt] = field(default_factory=list)
    paid_by: str = PaidBy.PLATFORM
    slot: Slot | None = None  # its place among the user's requests in flight
    # A stream's meter: it reads usage from the stream and decides what the client receives.
    rewriter: StreamMeter | None = None
    stream_requested: bool = False
    streamed: bool = False
    status: int | None = None
    error: str | None = None  # the error code answered, if any
    limit_refused: str | None = None  # the limit that refused the request, if one did
    first_byte_at: float | None = None
    finished_at: float | None = None
    completed: bool = False  # the whole upstream answer went through
    client_disconnected: bool = False
    usage_recorded: bool = False

    def __post_init__(self) -> None:
        metrics.request_started()

    @property
    def key_label(self) -> str | None:
        return self.attempts[-1].key_label if self.attempts else None

    @property
    def upstream_status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None

    @property
    def model(self) -> str | None:
        return self.entry.id if self.entry else None

    @property
    def provider(self) -> str | None:
        return self.entry.provider if self.entry else None

    def planned(self, entry: CatalogModel, plan: Plan, *, stream_requested: bool) -> None:
        self.entry, self.plan, self.stream_requested = entry, plan, stream_requested

    def observe(self, chunk: bytes) -> None:
        """The upstream sent something (a stream's chunk, or a whole JSON answer)."""
        if self.first_byte_at is None:
            self.first_byte_at = time.perf_counter()

    def relay(self, chunk: bytes) -> bytes:
        """Observe a stream's chunk; returns what the client receives for it now."""
        self.observe(chunk)
        return chunk if self.rewriter is None else self.rewriter.feed(chunk)

    @property
    def final_seen(self) -> bool:
        """A stream's final event came from the upstream (the answer reached its end)."""
        return self.rewriter is not None and self.rewriter.final_seen

    def final_held(self) -> bool:
        return self.rewriter is not None and self.rewriter.final_held

    def release_final(self) -> bytes:
        return b"" if self.rewriter is None else self.rewriter.take_final()

    def relay_end(self) -> bytes:
        """What the client receives after the last upstream chunk."""
        return b"" if self.rewriter is None else self.rewriter.close()

    def stream_error(self, event: bytes) -> bytes:
        return event if self.rewriter is None else self.rewriter.error_tail(event)

    def refused(self, error: ProxyError) -> None:
        """The request ends with `error`; before the stream started, it is also the status."""
        self.error = error.code
        if isinstance(error, LimitReached):
            self.limit_refused = str(error.details.get("limit_name"))
        if self.status is None:
            self.status = error.status

    async def record_usage(self, *, answer: bytes | None = None) -> None:
        """Commit the usage record of a 2xx answer, once; it survives the client leaving.
        A Responses answer's id is remembered for its workspace (`ai_proxy.policy`)."""
        dialect = self.plan.usage_dialect if self.plan is not None else None
        if self.usage_recorded or dialect is None or self.token is None:
            return
        if not 200 <= (self.upstream_status or 0) < 300:
            return
        self.usage_recorded = True
        if self.rewriter is not None:
            (usage, estimated), response_id = self.rewriter.measured(), self.rewriter.response_id
        else:
            facts = answer_facts(dialect, answer or b"")
            (usage, estimated), response_id = (facts.usage, False), facts.response_id
        if response_id is not None:
            await response_remember(response_id=response_id, workspace_id=self.token.workspace_id)
        write = usage_record_from_exchange(self, usage=usage, estimated=estimated)
        if write is not None:
            await asyncio.shield(write)
            metrics.usage_recorded(self.entry, usage)
            if self.paid_by == PaidBy.PLATFORM:
                alerts.usage_noted(self.token.user_id)

    async def finish(self) -> None:
        if self.finished_at is not None:
            return
        self.finished_at = time.perf_counter()
        try:
            if self.streamed:
                await self.record_usage()  # a stream the client cut short: what was seen
        finally:
            try:
                if self.slot is not None:
                    # Shielded: a client that went away cancels the wait, not the release.
                    await asyncio.shield(self.slot.release())
            finally:
                # Even then (the release awaits Redis, where a pending cancellation lands):
                # every request has its line and leaves the in-flight gauge.
                _log(self)
                metrics.request_finished(self)

    @property
    def latency_ms(self) -> float:
        end = self.finished_at or time.perf_counter()
        return round((end - self.started) * 1000, 2)

    @property
    def ttfb_ms(self) -> float | None:
        if self.first_byte_at is None:
            return None
        return round((self.first_byte_at - self.started) * 1000, 2)


def _log(exchange: Exchange) -> None:
    """The one `ai_proxy.request` line per request. Never a body, a prompt, a key or a token."""
    token = exchange.token
    logger.info(
        "ai_proxy.request",
        extra={
            "route": exchange.route.name,
            "model": exchange.model,
            "provider": exchange.provider,
            "key": exchange.key_label,
            "status": exchange.status,
            "upstream_status": exchange.upstream_status,
            "attempts": len(exchange.attempts),
            "error": exchange.error,
            "streamed": exchange.streamed,
            "latency_ms": exchange.latency_ms,
            "ttfb_ms": exchange.ttfb_ms,
            "client_disconnected": exchange.client_disconnected,
            "workspace_id": str(token.workspace_id) if token else None,
            # Which token of the workspace (its row, not its value): shows renewals at work.
            "token_id": token.id if token else None,
        },
    )
