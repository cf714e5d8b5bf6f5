"""The proxy's configuration in force: admin values beat environment values beat built-ins.

What the database holds (ProxySettings and the enabled catalog) is cached as one snapshot in
the Django cache, shared by every worker when Redis is configured, and dropped whenever an
admin saves either. Environment values are merged in on every read, so they are never stale.
"""

import contextlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from catalog.agents import PROXY_ELIGIBLE_AGENTS, AgentSpec
from catalog.models import CONFIG_CACHE_KEY, Delivery, ModelCatalogEntry, ProxySettings

logger = logging.getLogger(__name__)
# What a cache that cannot be reached raises (Redis: refused, timed out, reset).
CACHE_FAILURES = (RedisError, OSError)

# How long a snapshot may live when nothing invalidates it (a save in another deployment).
CONFIG_CACHE_SECONDS = 60

ADMIN = "admin"
ENV = "env"
BUILTIN = "built-in"


@dataclass(frozen=True)
class CatalogModel:
    id: str
    provider: str
    input_price_per_mtok: Decimal
    output_price_per_mtok: Decimal
    cache_write_5m_price_per_mtok: Decimal = Decimal(0)
    cache_write_1h_price_per_mtok: Decimal = Decimal(0)
    cache_read_price_per_mtok: Decimal = Decimal(0)


@dataclass(frozen=True)
class StoredConfig:
    """The admin-set values; None or "" means "not set here"."""

    enabled: bool | None = None
    token_mode: str = ""
    default_models: dict[str, str] = field(default_factory=dict)
    rate_limit_rpm: int | None = None
    daily_input_tokens: int | None = None
    daily_output_tokens: int | None = None
    daily_cost_cap_usd: Decimal | None = None
    max_parallel_requests: int | None = None
    allow_mcp_servers: bool = False
    allow_container: bool = False
    deliveries: dict[str, str] = field(default_factory=dict)
    catalog: dict[str, CatalogModel] = field(default_factory=dict)


def _load() -> StoredConfig:
    row = ProxySettings.objects.filter(pk=1).first()
    catalog = {
        entry.id: CatalogModel(
            id=entry.id,
            provider=entry.provider,
            input_price_per_mtok=entry.input_price_per_mtok,
            output_price_per_mtok=entry.output_price_per_mtok,
            cache_write_5m_price_per_mtok=entry.cache_write_5m_price_per_mtok,
            cache_write_1h_price_per_mtok=entry.cache_write_1h_price_per_mtok,
            cache_read_price_per_mtok=entry.cache_read_price_per_mtok,
        )
        for entry in ModelCatalogEntry.objects.filter(enabled=True)
    }
    if row is None:
        return StoredConfig(catalog=catalog)
    return StoredConfig(
        enabled=row.enabled,
        token_mode=row.token_mode,
        default_models={
            agent: getattr(row, ProxySettings.default_model_field(agent))
            for agent in PROXY_ELIGIBLE_AGENTS
        },
        rate_limit_rpm=row.rate_limit_rpm,
        daily_input_tokens=row.daily_input_tokens,
        daily_output_tokens=row.daily_output_tokens,
        daily_cost_cap_usd=row.daily_cost_cap_usd,
        max_parallel_requests=row.max_parallel_requests,
        allow_mcp_servers=row.allow_mcp_servers,
        allow_container=row.allow_container,
        deliveries={
            agent: getattr(row, ProxySettings.delivery_field(agent))
            for agent in PROXY_ELIGIBLE_AGENTS
        },
        catalog=catalog,
    )


def stored_config() -> StoredConfig:
    """The snapshot, from the cache when it holds one; from the database when it does not,
    or when the cache (Redis) cannot be reached — the settings must not depend on it."""
    try:
        config = cache.get(CONFIG_CACHE_KEY)
    except CACHE_FAILURES as failure:
        logger.warning(
            "catalog.config_cache_unavailable", extra={"failure": type(failure).__name__}
        )
        return _load()
    if config is None:
        config = _load()
        with contextlib.suppress(*CACHE_FAILURES):
            cache.set(CONFIG_CACHE_KEY, config, CONFIG_CACHE_SECONDS)
    return config


def proxy_enabled(config: StoredConfig) -> bool:
    return settings.AI_PROXY_ENABLED if config.enabled is None else config.enabled


def token_mode(config: StoredConfig) -> str:
    return config.token_mode or settings.AI_PROXY_TOKEN_MODE


def default_model(agent: AgentSpec, config: StoredConfig) -> tuple[str, str]:
    """The model proxy sessions of this agent start with, and the layer it comes from.

    An admin default that is no longer an enabled catalog entry is ignored (the admin page
    flags it), so a workspace is never pointed at a model the proxy would refuse.
    """
    admin_choice = config.default_models.get(agent.agent_type, "")
    if admin_choice and admin_choice in config.catalog:
        return admin_choice, ADMIN
    env_choice = agent.env_default_model()
    if env_choice:
        return env_choice, ENV
    if agent.default_model is None:
        raise ValueError(f"{agent.agent_type} is not eligible for the AI proxy")
    return agent.default_model, BUILTIN


def credential_delivery(agent: AgentSpec, config: StoredConfig) -> tuple[str, str]:
    """How a user's or project's own API key reaches this agent (SPEC 22.1) — `direct`
    (the key goes to the VM) or `proxy` (it stays here; the agent is pointed at the proxy)
    — and the layer it comes from: the admin's choice for the agent, else
    CREDENTIAL_DELIVERY. An agent the proxy cannot serve always gets its key directly."""
    if not agent.proxy_eligible:
        return Delivery.DIRECT, BUILTIN
    chosen = config.deliveries.get(agent.agent_type, "")
    if chosen:
        return chosen, ADMIN
    value = settings.CREDENTIAL_DELIVERY
    built_in = settings.AI_PROXY_BUILT_IN_DEFAULTS["CREDENTIAL_DELIVERY"]
    return value, BUILTIN if value == built_in else ENV


def own_keys_stay_here(agent: AgentSpec, config: StoredConfig) -> bool:
    """Whether users' and projects' API keys for this agent stay in the control plane."""
    return credential_delivery(agent, config)[0] == Delivery.PROXY


def proxy_public_url() -> str:
    """Where VMs reach the proxy: AI_PROXY_PUBLIC_URL, else https://api.<BASE_DOMAIN>."""
    if settings.AI_PROXY_PUBLIC_URL:
        return settings.AI_PROXY_PUBLIC_URL.rstrip("/")
    return f"https://api.{settings.BASE_DOMAIN}"


@dataclass(frozen=True)
class ProxyOffer:
    """Where an agent with no key of its own reaches the platform AI: the `inferenceConfig`
    of agent-key, less the key."""

    provider: str
    base_url: str
    model: str
    model_layer: str


def proxy_offer(agent: AgentSpec, config: StoredConfig) -> ProxyOffer | None:
    """The platform AI for this agent, or None when the agent cannot use it or it is off."""
    if not agent.proxy_eligible or not proxy_enabled(config):
        return None
    model, layer = default_model(agent, config)
    return ProxyOffer(
        provider=str(agent.proxy_provider),
        base_url=proxy_public_url() + str(agent.proxy_base_path),
        model=model,
        model_layer=layer,
    )
