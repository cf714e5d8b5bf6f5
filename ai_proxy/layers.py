"""Which value of each proxy setting is in force, and where it comes from.

Admin values (ProxySettings) beat environment values beat built-in defaults. A setting's
environment layer counts as "built-in" while it still holds the built-in default.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ai_proxy.config import ADMIN, BUILTIN, ENV, StoredConfig, default_model
from credentials.catalog import AGENTS, PROXY_ELIGIBLE_AGENTS, AgentSpec

# The defaults of sam_project/settings.py, for telling "env" from "built-in".
BUILT_IN_DEFAULTS: dict[str, Any] = {
    "AI_PROXY_ENABLED": True,
    "AI_PROXY_TOKEN_MODE": "callback",
    "AI_PROXY_RATE_LIMIT_RPM": 30,
    "AI_PROXY_DAILY_INPUT_TOKENS": 500_000,
    "AI_PROXY_DAILY_OUTPUT_TOKENS": 200_000,
    "AI_PROXY_DAILY_COST_CAP_USD": None,
}

# Which catalog providers each proxy route can serve. Claude Code speaks only the Anthropic
# Messages API and Codex only the OpenAI Responses API; OpenCode's chat completions route
# reaches every provider (Claude models through translation).
ROUTE_PROVIDERS: dict[str, set[str] | None] = {
    "anthropic-proxy": {"anthropic"},
    "openai-proxy": {"openai"},
    "openai-compatible": None,
}


@dataclass(frozen=True)
class InForce:
    name: str
    value: Any
    layer: str
    note: str = ""


def env_or_builtin(setting: str) -> tuple[Any, str]:
    value = getattr(settings, setting)
    return value, BUILTIN if value == BUILT_IN_DEFAULTS[setting] else ENV


def _layered(admin_value: Any, setting: str) -> tuple[Any, str]:
    if admin_value is not None and admin_value != "":
        return admin_value, ADMIN
    return env_or_builtin(setting)


def fallback_model(agent: AgentSpec) -> tuple[str, str]:
    """The default model when the admin sets none: the environment's, else the catalog's."""
    return default_model(agent, StoredConfig())


def serves_on_route(agent: AgentSpec, provider: str) -> bool:
    providers = ROUTE_PROVIDERS.get(str(agent.proxy_provider))
    return providers is None or provider in providers


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
    rows += [
        InForce("Requests per minute", *_layered(config.rate_limit_rpm, "AI_PROXY_RATE_LIMIT_RPM")),
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
