"""Who may use the proxy, decided without leaving the event loop on the common path:
the kill switch (configuration snapshot), then the workspace token (SPEC §6, §9).

Django would run these reads on a thread, and a thread handoff costs more than the reads
themselves (the worker's event loop holds the GIL while it is busy, so the thread waits
for it; measured at 1 to 5 ms per request under load). So:

- the configuration snapshot is kept in process memory and refreshed from the shared cache
  (on the database thread, in the background) once it is `CONFIG_MEMO_SECONDS` old: an
  admin's change reaches every worker within about that time on top of the cache's own;
- on SQLite, the embedded default, the token is read on the event loop through a read-only
  connection of the standard library's driver: a local read of one indexed row, cheaper
  than any handoff. On other databases the read runs on the proxy's database thread
  (`ai_proxy.dbthread`). Both run the same query and the same checks
  (`workspaces.tokens.lean_lookup_sql`, `token_from_lean_row`).
"""

import asyncio
import logging
import time

from django.http import HttpRequest

from ai_proxy.dbthread import db_read, read_row
from ai_proxy.errors import InsufficientScope, InvalidToken, ProxyDisabled
from catalog.config import StoredConfig, proxy_enabled, stored_config, token_mode
from catalog.routes import Dialect, Route
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import (
    TokenRejected,
    bearer_token,
    lean_lookup_sql,
    lookup_hash,
    token_from_lean_row,
)

logger = logging.getLogger(__name__)

CONFIG_MEMO_SECONDS = 1.0

_config_memo: tuple[float, StoredConfig] | None = None
_refresh: "asyncio.Task[None] | None" = None


async def proxy_config() -> StoredConfig:
    """The configuration snapshot. Once one is in memory, requests never wait for the next:
    an expired snapshot is still answered while one refresh runs in the background."""
    global _refresh
    memo = _config_memo
    if memo is None:
        await _reload()
        assert _config_memo is not None
        return _config_memo[1]
    if memo[0] <= time.monotonic() and (_refresh is None or _refresh.done()):
        _refresh = asyncio.create_task(_reload_in_background())
    return memo[1]


async def _reload() -> None:
    global _config_memo
    config = await db_read(stored_config)
    _config_memo = (time.monotonic() + CONFIG_MEMO_SECONDS, config)


async def _reload_in_background() -> None:
    try:
        await _reload()
    except Exception:
        # Nobody awaits this task: log here; the snapshot in memory stays, and the next
        # request tries again.
        logger.exception("ai_proxy.config_refresh_failed")


def config_memo_clear() -> None:
    global _config_memo, _refresh
    _config_memo, _refresh = None, None


async def admit(request: HttpRequest, route: Route) -> tuple[StoredConfig, WorkspaceToken]:
    """The configuration in force and the caller's token; else 503, 401 or 403."""
    config = await proxy_config()
    if not proxy_enabled(config):
        raise ProxyDisabled
    raw = bearer_token(request.headers.get("Authorization"))
    if raw is None and route.dialect is Dialect.ANTHROPIC:
        raw = request.headers.get("X-Api-Key", "").strip() or None
    if raw is None:
        where = "'Authorization: Bearer <token>'"
        if route.dialect is Dialect.ANTHROPIC:
            where += " or 'x-api-key: <token>'"
        raise InvalidToken(f"Send the workspace token as {where}.")
    try:
        token = await _authenticate(raw)
    except TokenRejected as rejected:
        logger.info("auth.token_rejected", extra={"reason": rejected.reason})
        raise InvalidToken(rejected.message) from None
    if token.kind == TokenKind.CALLBACK and token_mode(config) == "scoped":
        raise InsufficientScope(
            "The AI proxy accepts only proxy tokens here; ask the agent-key endpoint for one."
        )
    return config, token


async def _authenticate(raw: str) -> WorkspaceToken:
    alias = WorkspaceToken.objects.db
    row = await read_row(alias, lean_lookup_sql(alias), [lookup_hash(raw)])
    return token_from_lean_row(alias, row)
