"""The upstream providers, as the proxy reaches them: which key a request gets, the request
itself (aiohttp), and what a failed one becomes.

A provider's keys are the active platform credentials of its agent (see
`catalog.providers`), else `AI_PROXY_<PROVIDER>_API_KEY`. They are read at most every
`AI_PROXY_KEY_CACHE_SECONDS` per worker and held in its own memory only — never the shared
cache — and sent only upstream, never to a client, a log line or an error message.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import aiohttp
from django.conf import settings

from ai_proxy.db import run_sync
from ai_proxy.errors import (
    CredentialUnreadable,
    ProxyError,
    UpstreamAnswered,
    UpstreamKeyMissing,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from ai_proxy.key_health import platform_key_health_id
from ai_proxy.runtime import Memo, http_session, memo, upstream_proxy
from catalog.agents import API_KEY
from catalog.providers import PROVIDERS, ProviderSpec
from credentials.encryption import UnreadableSecret
from credentials.models import Credential

logger = logging.getLogger(__name__)

ANTHROPIC_VERSION = "2023-06-01"
CONNECT_TIMEOUT = 5.0
# Client headers worth passing on; everything else (credentials, cookies, hop-by-hop,
# forwarding headers) stays here.
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta", "openai-beta", "accept", "user-agent")
# Upstream answer headers clients act on (SPEC 20.2): passed on with a refusal.
UPSTREAM_ERROR_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "request-id",
    "x-request-id",
)
UPSTREAM_ERROR_HEADER_PREFIXES = ("anthropic-ratelimit-", "x-ratelimit-")
# An error answer longer than this is cut: error bodies are short.
ERROR_BODY_LIMIT = 256 * 1024


@dataclass(frozen=True)
class UpstreamKey:
    """One key of a provider's pool, and where it came from (for logs and usage: never its
    value). `health_id` names its health among the workers (`ai_proxy.key_health`): the
    credential and the stored form of its secret, so a replaced secret starts healthy."""

    provider: ProviderSpec
    value: str = field(repr=False)
    label: str
    health_id: str
    weight: int = 1
    credential_id: int | None = None

    def auth_headers(self) -> dict[str, str]:
        return self.provider.auth_headers(self.value)


def _stored_keys(spec: ProviderSpec) -> list[UpstreamKey]:
    """The provider's pool as configured now (runs on a worker thread: it reads the ORM)."""
    keys = []
    for credential in Credential.objects.platform_pool(spec.platform_agent).order_by("pk"):
        if credential.kind != API_KEY:
            continue  # an OAuth token is not an API key upstream
        try:
            value = credential.reveal_secret()
        except UnreadableSecret:
            raise CredentialUnreadable(credential_id=credential.pk) from None
        keys.append(
            UpstreamKey(
                spec,
                value,
                label=credential.label or f"#{credential.pk}",
                health_id=platform_key_health_id(credential),
                weight=credential.weight,
                credential_id=credential.pk,
            )
        )
    if not keys and spec.env_key():
        keys.append(
            UpstreamKey(spec, spec.env_key(), label="env", health_id=f"env.{spec.provider}")
        )
    fallback = spec.falls_back_to()
    if not keys and fallback is not None:
        keys = [replace(key, provider=spec) for key in _stored_keys(fallback)]
    return keys


def _keys_memo(provider: str) -> Memo[list[UpstreamKey]]:
    spec = PROVIDERS[provider]

    async def load() -> list[UpstreamKey]:
        return await run_sync(_stored_keys, spec)

    return memo(load=load, seconds=lambda: settings.AI_PROXY_KEY_CACHE_SECONDS, name=provider)


_KEYS = {provider: _keys_memo(provider) for provider in PROVIDERS}


async def upstream_keys(provider: str) -> list[UpstreamKey]:
    """The provider's keys; a missing one is a 503 naming no secret. A missing key is not
    remembered: the first key an admin adds works at once."""
    held = _KEYS[provider]
    try:
        keys = await held.get()
    except CredentialUnreadable as unreadable:
        held.clear()
        logger.error("credential.unreadable", extra={"credential_id": unreadable.credential_id})
        raise
    if not keys:
        held.clear()
        raise UpstreamKeyMissing(
            f"The platform has no API key for the {provider} provider; an admin must add one."
        )
    return keys


def forwarded_headers(key: UpstreamKey, client_headers: Mapping[str, str]) -> dict[str, str]:
    """The client headers worth passing on (`client_headers` matches names in any case),
    the defaults the provider needs, and the key."""
    headers = {name: client_headers[name] for name in FORWARDED_HEADERS if name in client_headers}
    if key.provider.key_header == "x-api-key":
        headers.setdefault("anthropic-version", ANTHROPIC_VERSION)
    headers["content-type"] = "application/json"
    # Relayed byte for byte: a compressed stream could not be relayed chunk by chunk.
    headers["accept-encoding"] = "identity"
    headers.update(key.auth_headers())
    return headers


async def upstream_send(
    *, key: UpstreamKey, path: str, query: str, content: bytes, headers: dict[str, str]
) -> aiohttp.ClientResponse:
    """Send the request; returns as soon as the response headers are in. A failure is
    logged (the key's label only) and raised as aiohttp raised it: `ai_proxy.failover`
    decides whether it is tried again."""
    url = key.provider.base_url() + path + (f"?{query}" if query else "")
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=CONNECT_TIMEOUT, sock_read=settings.AI_PROXY_READ_TIMEOUT
    )
    try:
        return await http_session().post(
            url,
            data=content,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            proxy=upstream_proxy(key.provider.base_url()),
        )
    except aiohttp.ClientError as failure:
        logger.warning(
            "ai_proxy.upstream_failed",
            extra={
                "provider": key.provider.provider,
                "key": key.label,
                "failure": type(failure).__name__,
            },
        )
        raise


async def upstream_answered(response: aiohttp.ClientResponse) -> UpstreamAnswered:
    """The upstream's non-2xx answer, to pass on as it came (its body is never logged)."""
    body = bytearray()
    try:
        while len(body) < ERROR_BODY_LIMIT:
            chunk = await response.content.read(ERROR_BODY_LIMIT - len(body))
            if not chunk:
                break
            body += chunk
    except READ_FAILURES:
        pass  # what arrived, or the status alone, still tells the client what happened
    finally:
        response.close()
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() in UPSTREAM_ERROR_HEADERS
        or name.lower().startswith(UPSTREAM_ERROR_HEADER_PREFIXES)
    }
    content_type = response.headers.get("content-type", "application/json")
    return UpstreamAnswered(
        status=response.status, body=bytes(body), content_type=content_type, headers=headers
    )


def failure_error(failure: BaseException) -> ProxyError:
    """What the client is told when the upstream could not be reached or read: 504 for a
    timeout, 502 otherwise."""
    if isinstance(failure, TimeoutError):
        return UpstreamTimeout()
    return UpstreamUnreachable()


# Reading a stream fails with these: the connection broke, timed out, or the framing lied.
READ_FAILURES = (aiohttp.ClientError, TimeoutError)
