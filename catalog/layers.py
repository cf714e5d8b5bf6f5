"""Which value of each proxy setting is in force, and where it comes from.

Admin values (ProxySettings) beat environment values beat built-in defaults. A setting's
environment layer counts as "built-in" while it still holds the built-in default.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog.agents import AGENTS, PROXY_ELIGIBLE_AGENTS, AgentSpec
from catalog.config import (
    ADMIN,
    BUILTIN,
    ENV,
    StoredConfig,
    credential_delivery,
    default_model,
)


@dataclass(frozen=True)
class InForce:
    name: str
    value: Any
    layer: str
    note: str = ""


def env_or_builtin(setting: str) -> tuple[Any, str]:
    value = getattr(settings, setting)
    return value, BUILTIN if value == settings.AI_PROXY_BUILT_IN_DEFAULTS[setting] else ENV


def _layered(admin_value: Any, setting: str) -> tuple[Any, str]:
    if admin_value is not None and admin_value != "":
        return admin_value, ADMIN
    return env_or_builtin(setting)


def fallback_model(agent: AgentSpec) -> tuple[str, str]:
    """The default model when the admin sets none: the environment's, else the catalog's."""
    return default_model(agent, StoredConfig())


def orphaned_defaults(config: StoredConfig) -> dict[str, str]:
    """Admin default models that are no longer enabled catalog entries (and so are ignored)."""
    return {
        agent: model
        for agent, model in config.default_models.items()
        if model and model not in config.catalog
    }


def settings_in_force(config: StoredConfig) -> list[InForce]:
    orphans = orphaned_defaults(config)
    rows = [
        InForce("Proxy enabled", *_layered(config.enabled, "AI_PROXY_ENABLED")),
        InForce("Token mode", *_layered(config.token_mode, "AI_PROXY_TOKEN_MODE")),
    ]
    for agent_type in PROXY_ELIGIBLE_AGENTS:
        spec = AGENTS[agent_type]
        model, layer = default_model(spec, config)
        note = ""
        if agent_type in orphans:
            note = f"Admin choice {orphans[agent_type]} is no longer available; it is ignored."
        rows.append(InForce(f"Default model: {spec.label}", model, layer, note))
    for agent_type in PROXY_ELIGIBLE_AGENTS:
        spec = AGENTS[agent_type]
        rows.append(InForce(f"Own API keys: {spec.label}", *credential_delivery(spec, config)))
    rows += [
        InForce("Requests per minute", *_layered(config.rate_limit_rpm, "AI_PROXY_RATE_LIMIT_RPM")),
        InForce(
            "Requests in flight",
            *_layered(config.max_parallel_requests, "AI_PROXY_MAX_PARALLEL_REQUESTS"),
        ),
        InForce(
            "Daily input tokens",
            *_layered(config.daily_input_tokens, "AI_PROXY_DAILY_INPUT_TOKENS"),
        ),
        InForce(
            "Daily output tokens",
            *_layered(config.daily_output_tokens, "AI_PROXY_DAILY_OUTPUT_TOKENS"),
        ),
        InForce(
            "Daily cost cap (USD)",
            *_layered(config.daily_cost_cap_usd, "AI_PROXY_DAILY_COST_CAP_USD"),
        ),
    ]
    return rows
