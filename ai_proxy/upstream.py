"""The upstream providers: where each one is, which key it gets, and the shared HTTP client.

The key is the active platform credential of the provider's agent (claude-code → Anthropic,
openai-codex → OpenAI, opencode → OpenAI-compatible), else `AI_PROXY_<PROVIDER>_API_KEY`.
It is sent only upstream, never to a client, a log line or an error message.
"""

import asyncio
import json
import logging
import re
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy

import httpx
from django.conf import settings

from ai_proxy.dbthread import db_read
from ai_proxy.errors import (
    CredentialUnreadable,
    ProxyError,
    UpstreamFailed,
    UpstreamKeyMissing,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from ai_proxy.transport import LeanTransport
from catalog.agents import API_KEY
from catalog.providers import Provider
from credentials.encryption import UnreadableSecret
from credentials.models import Credential

logger = logging.getLogger(__name__)

ANTHROPIC_VERSION = "2023-06-01"
CONNECT_TIMEOUT = 5.0
# An upstream error body is read only to learn its error type; more than this is not needed.
_ERROR_BODY_LIMIT = 64 * 1024
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_PLATFORM_AGENT: dict[str, str] = {
    Provider.ANTHROPIC: "claude-code",
    Provider.OPENAI: "openai-codex",
    Provider.OPENAI_COMPATIBLE: "opencode",
}
_ENV_KEY: dict[str, str] = {
    Provider.ANTHROPIC: "AI_PROXY_ANTHROPIC_API_KEY",
    Provider.OPENAI: "AI_PROXY_OPENAI_API_KEY",
    Provider.OPENAI_COMPATIBLE: "AI_PROXY_OPENAI_COMPATIBLE_API_KEY",
}
# Client headers worth passing on; everything else (credentials, cookies, hop-by-hop,
# forwarding headers) stays here.
_FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta", "openai-beta", "accept", "user-agent")
# Upstream response headers a client may act on when it is refused.
_ERROR_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry")


@dataclass(frozen=True)
class Upstream:
    provider: str
    base_url: str
    key: str = field(repr=False)

    def auth_headers(self) -> dict[str, str]:
        if self.provider == Provider.ANTHROPIC:
            return {"x-api-key": self.key}
        return {"authorization": f"Bearer {self.key}"}


def _base_url(provider: str) -> str:
    if provider == Provider.ANTHROPIC:
        return settings.AI_PROXY_ANTHROPIC_UPSTREAM.rstrip("/")
    if provider == Provider.OPENAI_COMPATIBLE and settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM:
        return settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM.rstrip("/")
    return settings.AI_PROXY_OPENAI_UPSTREAM.rstrip("/")


def _configured_key(provider: str) -> str | None:
    """The platform credential of the provider's agent, else its environment key."""
    credential = Credential.objects.platform_pool(_PLATFORM_AGENT[provider]).first()
    if credential is not None and credential.kind == API_KEY:
        try:
            return credential.reveal_secret()
        except UnreadableSecret:
            raise CredentialUnreadable(credential_id=credential.pk) from None
    key = getattr(settings, _ENV_KEY[provider])
    if key:
        return str(key)
    # An OpenAI-compatible provider left pointing at OpenAI itself uses the OpenAI key.
    if provider == Provider.OPENAI_COMPATIBLE and not settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM:
        return _configured_key(Provider.OPENAI)
    return None


# Per-process memory only, never the shared cache: plaintext keys must not leave the worker
# that uses them. Entries live AI_PROXY_KEY_CACHE_SECONDS, which bounds how long a worker
# keeps using a platform key after an admin replaced or deactivated it.
_key_cache: dict[str, tuple[float, str]] = {}


def _cached_key(provider: str) -> tuple[bool, str | None]:
    entry = _key_cache.get(provider)
    if entry is not None and entry[0] > time.monotonic():
        return True, entry[1]
    return False, None


def key_cache_clear() -> None:
    _key_cache.clear()


async def upstream_for(provider: str) -> Upstream:
    """Where to send a request for a model of this provider, with the key to send."""
    hit, key = _cached_key(provider)
    if not hit:
        try:
            key = await db_read(_configured_key, provider)
        except CredentialUnreadable as unreadable:
            logger.error("credential.unreadable", extra={"credential_id": unreadable.credential_id})
            raise
        ttl = settings.AI_PROXY_KEY_CACHE_SECONDS
        # A missing key is not remembered: the first key an admin adds works at once.
        if ttl > 0 and key:
            _key_cache[provider] = (time.monotonic() + ttl, key)
    if not key:
        raise UpstreamKeyMissing(
            f"The platform has no API key for the {provider} provider; an admin must add one."
        )
    return Upstream(provider=provider, base_url=_base_url(provider), key=key)


_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = (
    weakref.WeakKeyDictionary()
)


def upstream_client() -> httpx.AsyncClient:
    """The process's client for the running event loop (an httpx client cannot change loops)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = httpx.AsyncClient(transport=LeanTransport(), follow_redirects=False)
        # A provider's cookies would otherwise be sent back on every user's later requests.
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        _clients[loop] = client
    return client


def forwarded_headers(upstream: Upstream, client_headers: Mapping[str, str]) -> dict[str, str]:
    """The client headers worth passing on (`client_headers` matches names in any case),
    the defaults the provider needs, and the platform key."""
    headers = {name: client_headers[name] for name in _FORWARDED_HEADERS if name in client_headers}
    if upstream.provider == Provider.ANTHROPIC:
        headers.setdefault("anthropic-version", ANTHROPIC_VERSION)
    headers["content-type"] = "application/json"
    # Relayed byte for byte: a compressed stream could not be relayed chunk by chunk.
    headers["accept-encoding"] = "identity"
    headers.update(upstream.auth_headers())
    return headers


async def upstream_close(response: httpx.Response) -> None:
    await response.aclose()
    # httpx's client links a response and its stream both ways. Unlinked, both are freed
    # as soon as the request is done, instead of by a garbage collector pass, whose pauses
    # grow with every such leftover of the requests in flight.
    response.stream = _NO_BODY


_NO_BODY = httpx.ByteStream(b"")


def upstream_failure(failure: httpx.TransportError) -> ProxyError:
    if isinstance(failure, httpx.TimeoutException):
        return UpstreamTimeout()
    return UpstreamUnreachable()


async def upstream_open(
    upstream: Upstream, path: str, query: str, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """Send the request and return as soon as the response headers are in."""
    client = upstream_client()
    url = upstream.base_url + path + (f"?{query}" if query else "")
    timeout = httpx.Timeout(
        CONNECT_TIMEOUT, connect=CONNECT_TIMEOUT, read=settings.AI_PROXY_READ_TIMEOUT
    )
    request = client.build_request("POST", url, content=content, headers=headers, timeout=timeout)
    try:
        return await client.send(request, stream=True)
    except httpx.TransportError as failure:
        logger.warning(
            "ai_proxy.upstream_failed",
            extra={"provider": upstream.provider, "failure": type(failure).__name__},
        )
        raise upstream_failure(failure) from None


async def upstream_refusal(response: httpx.Response) -> UpstreamFailed:
    """The error for a non-2xx answer: its status and error type, never its message."""
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > _ERROR_BODY_LIMIT:
                break
    except httpx.TransportError:
        pass  # the status alone is enough to answer
    finally:
        await upstream_close(response)
    headers = {name: response.headers[name] for name in _ERROR_HEADERS if name in response.headers}
    error_type, code = _error_identifiers(bytes(body))
    return UpstreamFailed(
        status=response.status_code,
        error_type=error_type or "api_error",
        code=code,
        headers=headers,
    )


def _error_identifiers(body: bytes) -> tuple[str | None, str | None]:
    """The `error.type` and `error.code` of an upstream error body, when they look like
    identifiers (anything else could be text meant for the platform's account holder)."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, RecursionError, LookupError, TypeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    return _identifier(error.get("type")), _identifier(error.get("code"))


def _identifier(value: object) -> str | None:
    return value if isinstance(value, str) and _IDENTIFIER.match(value) else None
