"""Recording what the proxy served: one usage record per inference answered 2xx.

The write runs after the answer is out, on the proxy's database thread, so it never adds to
the client's wait. Writes still in flight when the server stops are awaited (ASGI lifespan
shutdown, `usage_writes_drain`).
"""

import asyncio
import logging

from ai_proxy.accounting import RequestFacts, Usage, parse_json_body, usage_from_json, usage_record
from ai_proxy.dbthread import db_write
from ai_proxy.exchange import Exchange, ExchangeObserver

logger = logging.getLogger(__name__)

_pending: set["asyncio.Task[object]"] = set()


class UsageRecorder(ExchangeObserver):
    """Reads usage from a JSON answer, or from the stream meter, and records it."""

    def __init__(self) -> None:
        self.answer = b""

    def on_chunk(self, exchange: Exchange, chunk: bytes) -> None:
        if not exchange.streamed and exchange.usage_dialect:
            self.answer = chunk  # a JSON answer arrives whole

    async def on_finish(self, exchange: Exchange) -> None:
        token, status = exchange.token, exchange.upstream_status
        if exchange.usage_dialect is None or token is None or status is None:
            return
        if not 200 <= status < 300:
            return
        if exchange.rewriter is not None:
            usage = exchange.rewriter.usage
        else:
            usage = usage_from_json(exchange.usage_dialect, parse_json_body(self.answer))
        workspace = token.workspace
        facts = RequestFacts(
            user_id=workspace.user_id,
            workspace_id=workspace.pk,
            project_id=workspace.project_id,
            task_id=getattr(token, "newest_task_id", None),
            model=exchange.model or "",
            provider=exchange.provider or "",
            route=exchange.route.name,
        )
        _record_later(exchange, facts, usage)


def _record_later(exchange: Exchange, facts: RequestFacts, usage: Usage) -> None:
    write = db_write(
        usage_record,
        facts=facts,
        usage=usage,
        price=exchange.price,
        status=exchange.upstream_status or 0,
        streamed=exchange.streamed,
        latency_ms=int(exchange.latency_ms),
        ttfb_ms=None if exchange.ttfb_ms is None else int(exchange.ttfb_ms),
    )
    task = asyncio.get_running_loop().create_task(write)
    _pending.add(task)
    task.add_done_callback(_written)


def _written(task: "asyncio.Task[object]") -> None:
    _pending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("ai_proxy.usage_write_failed", exc_info=task.exception())


def pending_usage_writes() -> int:
    return len(_pending)


async def usage_writes_drain() -> None:
    """Wait for the usage writes still in flight (at shutdown)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
