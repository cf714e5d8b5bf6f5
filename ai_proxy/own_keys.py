"""A workspace's own API key, sent upstream by the proxy instead of handed to its VM
(SPEC 22.1).

With `proxy` delivery for an agent, agent-key answers a user's or project's API key with
the proxy's `inferenceConfig`; the key stays here. A request to the proxy is then served
with the key the same decision (`credentials.resolution.decide_access`) picks for the
workspace and the agent that speaks the request's route (Claude Code on the Messages
route, Codex on Responses, OpenCode on chat completions), when that key is one of the
request's provider (`AgentSpec.key_providers`: a Claude Code key is an Anthropic key, an
OpenCode key never goes to Anthropic); otherwise the platform's pool serves it. Own-key traffic is recorded and priced with its
source (`paid_by`) and is outside the platform's daily budgets; the rate limit and the
in-flight cap apply.

A decision, and the decrypted key with it, is held in this process's memory (never the
shared cache) for `AI_PROXY_KEY_CACHE_SECONDS`, like the platform's keys: a replaced or
removed key stops being used within that time.
"""

import functools
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ai_proxy.db import run_sync
from ai_proxy.errors import CredentialUnreadable
from ai_proxy.runtime import on_runtime_reset
from ai_proxy.upstream import UpstreamKey
from catalog.agents import AGENTS, AgentSpec
from catalog.config import StoredConfig, own_keys_stay_here
from catalog.providers import PROVIDERS, ProviderSpec
from catalog.routes import Route
from credentials.encryption import UnreadableSecret
from credentials.resolution import Delivery, candidates_by_agent, decide_access
from credentials.services import credential_provider_verdict
from workspaces.tokens import LiveToken

logger = logging.getLogger(__name__)

# The label usage records and log lines give a workspace's own key (never its value).
OWN_KEY_LABEL = "own"
# Decisions held at most; past it the expired ones go, then all (a burst of new workspaces).
HELD_AT_MOST = 10_000


@dataclass(frozen=True)
class OwnKey:
    key: UpstreamKey
    paid_by: str  # "user" or "project": whose key it is
    refused: bool  # the provider refused it last time


_held: dict[tuple[int, int | None, str, str], tuple[float, OwnKey | None]] = {}


async def own_key(
    token: LiveToken, route: Route, provider: str, config: StoredConfig
) -> OwnKey | None:
    """The workspace's own key for this request, when the keys of the agent that speaks this
    route (`Route.default_agent`) stay here and such a key is one of the provider's; None:
    the platform's keys serve it."""
    agent = AGENTS[route.default_agent]
    if not own_keys_stay_here(agent, config) or not agent.key_serves(provider):
        return None
    held_key = (token.user_id, token.project_id, agent.agent_type, provider)
    held = _held.get(held_key)
    now = time.monotonic()
    if held is not None and held[0] > now:
        return held[1]
    found = await run_sync(_resolve, token, agent, PROVIDERS[provider], config)
    if len(_held) >= HELD_AT_MOST:
        for stale in [k for k, (until, _) in _held.items() if until <= now]:
            del _held[stale]
        if len(_held) >= HELD_AT_MOST:
            _held.clear()
    _held[held_key] = (now + settings.AI_PROXY_KEY_CACHE_SECONDS, found)
    return found


def _resolve(
    token: LiveToken, agent: AgentSpec, spec: ProviderSpec, config: StoredConfig
) -> OwnKey | None:
    rows = candidates_by_agent(
        user_id=token.user_id, project_id=token.project_id, agent_types=[agent.agent_type]
    )
    access = decide_access(agent=agent, rows=rows[agent.agent_type], config=config)
    credential = access.credential
    if access.delivery is not Delivery.PROXY or credential is None:
        return None
    try:
        value = credential.reveal_secret()
    except UnreadableSecret:
        logger.error("credential.unreadable", extra={"credential_id": credential.pk})
        raise CredentialUnreadable(credential_id=credential.pk) from None
    key = UpstreamKey(spec, value, label=OWN_KEY_LABEL, health_id="", credential_id=credential.pk)
    return OwnKey(key, paid_by=credential.scope, refused=credential.provider_refused_at is not None)


async def own_key_verdict(own: OwnKey, status: int) -> None:
    """Remember what the provider said of the key, when it changes: refused (401/403, shown
    on the agents page as "refused by the provider at …") or taken again."""
    refused = status in (401, 403)
    if refused == own.refused:
        return
    assert own.key.credential_id is not None
    verdict = functools.partial(
        credential_provider_verdict,
        credential_id=own.key.credential_id,
        refused_at=timezone.now() if refused else None,
    )
    await run_sync(verdict)
    for held_key, (until, held) in list(_held.items()):
        if held is not None and held.key.credential_id == own.key.credential_id:
            _held[held_key] = (until, OwnKey(held.key, held.paid_by, refused))


on_runtime_reset(_held.clear)
