"""Who may use the proxy: the kill switch (configuration snapshot), then the workspace token
(SPEC §6, §9).

The configuration snapshot (`catalog.config.stored_config`: the admin's settings and the
enabled catalog, cached in the Django cache) is held in this process's memory for
`CONFIG_MEMO_SECONDS` and refreshed in the background, so a request never waits for it once
one is held: an admin's change reaches every worker within about that time on top of the
cache's own. The token is read with one prepared statement (`workspaces.tokens`) on the
proxy's database path (`ai_proxy.db`).
"""

import logging

from django.http import HttpRequest
from django.utils import timezone

from ai_proxy import db
from ai_proxy.errors import InsufficientScope, InvalidToken, ProxyDisabled
from ai_proxy.runtime import memo
from catalog.config import StoredConfig, proxy_enabled, stored_config, token_mode
from catalog.routes import Dialect, Route
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import (
    LiveToken,
    TokenRejected,
    bearer_token,
    token_from_row,
    token_lookup_params,
    token_lookup_sql,
)

logger = logging.getLogger(__name__)

CONFIG_MEMO_SECONDS = 1.0


async def _load_config() -> StoredConfig:
    return await db.run_sync(stored_config)


_config = memo(
    load=_load_config,
    seconds=lambda: CONFIG_MEMO_SECONDS,
    name="config",
    stale_while_reloading=True,
)


async def proxy_config() -> StoredConfig:
    return await _config.get()


async def admit(request: HttpRequest, route: Route) -> tuple[StoredConfig, LiveToken]:
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


async def _authenticate(raw: str) -> LiveToken:
    alias = WorkspaceToken.objects.db
    params = token_lookup_params(raw, timezone.now())
    return token_from_row(await db.fetch_one(token_lookup_sql(alias), params, alias))
