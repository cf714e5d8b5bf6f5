"""The health of the platform's upstream keys, shared by every worker (SPEC 21),
and what the admin's page shows of them.

A key that got a 429 or 529 cools down until its `retry-after` says (or the provider's
rate-limit reset headers; 30 s if it says nothing); one that got a 401 or 403 is broken, and
skipped until an admin resets it. What a key went through last (status, error type, when)
is kept too, for the admin's page. It lives in the shared state (`ai_proxy.shared`), so a
key cooling down on one worker is skipped by all of them.
"""

import email.utils
import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.db.models import Count, F, Sum

from ai_proxy.models import PaidBy, UsageRecord
from ai_proxy.shared import shared_state
from catalog.agents import API_KEY
from catalog.providers import PROVIDERS
from credentials.models import Credential, Scope

DEFAULT_COOLDOWN = 30.0
# A broken key stays broken until reset; the shared state wants a lifetime all the same.
_BROKEN_SECONDS = 365 * 24 * 3600.0
_LAST_SECONDS = 30 * 24 * 3600.0
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


class State(StrEnum):
    HEALTHY = "healthy"
    COOLING = "cooling"
    BROKEN = "broken"


@dataclass(frozen=True)
class Health:
    state: State = State.HEALTHY
    until: float | None = None  # cooling: when it may be used again (epoch seconds)
    since: float | None = None  # broken: since when
    status: int | None = None  # the status that put it there
    error_type: str | None = None

    def usable(self, now: float) -> bool:
        return self.state is State.HEALTHY or (
            self.state is State.COOLING and (self.until or 0) <= now
        )

    def to_text(self) -> str:
        return json.dumps({**vars(self), "state": self.state.value})

    @classmethod
    def from_text(cls, text: str | None) -> "Health":
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(**{**data, "state": State(data["state"])})
        except (ValueError, TypeError, KeyError):
            return cls()


def platform_key_health_id(credential: Credential) -> str:
    """The name of a platform key's health: its row, and a digest of its ciphertext (which
    changes whenever the secret is set: a replaced key starts healthy)."""
    stored = hashlib.sha256(credential.secret.token.encode()).hexdigest()[:12]
    return f"{credential.pk}.{stored}"


def _state_key(key_id: str) -> str:
    return f"key:{key_id}"


def _last_key(key_id: str) -> str:
    return f"key-last:{key_id}"


async def key_health(key_ids: list[str]) -> list[Health]:
    """The health of each key, in order (a key nothing happened to is healthy)."""
    return [
        Health.from_text(text)
        for text in await shared_state.get_many([_state_key(k) for k in key_ids])
    ]


async def key_last_errors(key_ids: list[str]) -> list[Health]:
    """What each key went through last, even once it is healthy again."""
    return [
        Health.from_text(text)
        for text in await shared_state.get_many([_last_key(k) for k in key_ids])
    ]


async def key_cool(*, key_id: str, seconds: float, status: int, error_type: str | None) -> None:
    now = time.time()
    health = Health(State.COOLING, until=now + seconds, status=status, error_type=error_type)
    await shared_state.put(_state_key(key_id), health.to_text(), seconds)
    await _note(key_id, health)


async def key_break(*, key_id: str, status: int, error_type: str | None) -> None:
    health = Health(State.BROKEN, since=time.time(), status=status, error_type=error_type)
    await shared_state.put(_state_key(key_id), health.to_text(), _BROKEN_SECONDS)
    await _note(key_id, health)


async def key_failed(*, key_id: str, status: int | None, error_type: str | None) -> None:
    """An error that changes nothing of the key's health (a 5xx, a refused connection), noted
    for the admin."""
    await _note(
        key_id, Health(State.HEALTHY, since=time.time(), status=status, error_type=error_type)
    )


def key_health_now(key_ids: list[str]) -> list[tuple[Health, Health]]:
    """For synchronous code (the admin's page): each key's health, and what it went through
    last."""
    texts = shared_state.get_many_now(
        [name for k in key_ids for name in (_state_key(k), _last_key(k))]
    )
    healths = [Health.from_text(text) for text in texts]
    return list(zip(healths[::2], healths[1::2], strict=True))


def key_reset_now(key_id: str) -> None:
    """Healthy again (an admin's reset, synchronous): its cooldown or breakage is forgotten,
    what it went through last is kept."""
    shared_state.put_now(_state_key(key_id), Health().to_text(), 1)


async def _note(key_id: str, health: Health) -> None:
    last = Health(
        health.state, health.until, health.since or time.time(), health.status, health.error_type
    )
    await shared_state.put(_last_key(key_id), last.to_text(), _LAST_SECONDS)


def cooldown_seconds(
    headers: Any, now: float | None = None, default: float = DEFAULT_COOLDOWN
) -> float:
    """How long a rate-limited key waits: `retry-after-ms`, `retry-after` (seconds or an
    HTTP date), else the latest of the provider's rate-limit reset headers (Anthropic:
    RFC 3339 times; OpenAI: durations such as "1m30s"), else `default`. `headers` matches
    names in any case (aiohttp's, or a dict of lower-case names)."""
    now = time.time() if now is None else now
    headers = {name.lower(): value for name, value in headers.items()}
    try:
        return max(0.0, float(headers["retry-after-ms"]) / 1000)
    except (KeyError, ValueError):
        pass
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _retry_after(retry_after, now)
        if seconds is not None:
            return max(0.0, seconds)
    resets = [
        _reset(name, value, now)
        for name, value in headers.items()
        if (name.startswith("anthropic-ratelimit-") and name.endswith("-reset"))
        or name.startswith("x-ratelimit-reset")
    ]
    known = [seconds for seconds in resets if seconds is not None and seconds > 0]
    return max(known) if known else default


def _retry_after(value: str, now: float) -> float | None:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, IndexError):
        return None


def _reset(name: str, value: str, now: float) -> float | None:
    if name.startswith("anthropic-"):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now
        except ValueError:
            return None
    match = _DURATION.match(value.strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(part) if part else 0.0 for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


@dataclass(frozen=True)
class KeyUse:
    requests: int = 0
    tokens: int = 0  # every kind: input, cache writes and reads, output


def key_use_today() -> dict[tuple[str, str], KeyUse]:
    """Today's (UTC) platform-paid requests and tokens by pool key: (agent, label).

    A record names its provider and key label; the key is of the provider's agent's pool, or
    of the pool it falls back to when its own has no key (`ProviderSpec.falls_back_to`).
    """
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    totals = (
        UsageRecord.objects.filter(created_at__gte=start, paid_by=PaidBy.PLATFORM)
        .values("provider", "upstream_key")
        .annotate(
            requests=Count("id"),
            tokens=Sum(
                F("input_tokens")
                + F("cache_write_5m_tokens")
                + F("cache_write_1h_tokens")
                + F("cache_read_tokens")
                + F("output_tokens")
            ),
        )
    )
    pooled = set(
        Credential.objects.filter(scope=Scope.PLATFORM, kind=API_KEY, is_active=True)
        .values_list("agent_type", flat=True)
        .distinct()
    )
    use: dict[tuple[str, str], KeyUse] = {}
    for row in totals:
        spec = PROVIDERS.get(row["provider"])
        if spec is None:
            continue
        fallback = spec.falls_back_to()
        if spec.platform_agent not in pooled and fallback is not None:
            spec = fallback
        key = (spec.platform_agent, row["upstream_key"])
        before = use.get(key, KeyUse())
        use[key] = KeyUse(before.requests + row["requests"], before.tokens + (row["tokens"] or 0))
    return use
