"""The agents: the single source of truth for which agents exist and how each is fed.

Choices, environment variable names, the proxy route an agent uses and its built-in default
model all come from here; `agent_client/catalog.py` is a standard-library copy of what a VM
needs, checked against this one by a test.
"""

from dataclasses import dataclass

from django.conf import settings

from catalog.providers import Provider
from catalog.routes import ANTHROPIC_MESSAGES, CHAT_COMPLETIONS, RESPONSES, Route

API_KEY = "api-key"
OAUTH_TOKEN = "oauth-token"  # noqa: S105 - a kind name, not a secret
CREDENTIAL_KINDS = (API_KEY, OAUTH_TOKEN)
KIND_CHOICES = [(API_KEY, "API key"), (OAUTH_TOKEN, "OAuth token")]

# Handed to the VM instead of a key when the agent is to use the platform AI proxy with its
# own callback token. It must never be stored or forwarded as a credential.
PLATFORM_PROXY_SENTINEL = "__platform_proxy__"


@dataclass(frozen=True)
class AgentSpec:
    agent_type: str
    label: str
    key_env: str
    oauth_env: str | None  # None: OAuth not accepted, or (Codex) delivered as a file
    oauth_accepted: bool
    # How the agent reaches the platform AI proxy; None: it cannot.
    proxy_provider: str | None = None  # the `inferenceConfig.provider` the VM client reads
    proxy_route: Route | None = None
    default_model: str | None = None
    default_model_setting: str | None = None  # the env setting that overrides default_model
    # The providers an API key of this agent is a key of: where the proxy may send a user's
    # or project's key of it (SPEC 22.1). A Claude Code key never goes to OpenAI.
    key_providers: tuple[Provider, ...] = ()
    # Whether the agent fetches a fresh proxy token itself when its own expires (Claude
    # Code's apiKeyHelper, Codex's command-backed provider auth; SPEC 22.2). An agent that
    # cannot is started with one token that has to last the session.
    renews_token: bool = False

    @property
    def proxy_eligible(self) -> bool:
        return self.proxy_route is not None

    @property
    def proxy_base_path(self) -> str | None:
        return self.proxy_route.base_path if self.proxy_route else None

    def proxy_token_seconds(self) -> int:
        """How long a proxy token minted for this agent lives: AI_PROXY_TOKEN_TTL when the
        agent renews its token, else AI_PROXY_STATIC_TOKEN_TTL."""
        if self.renews_token:
            return int(settings.AI_PROXY_TOKEN_TTL)
        return int(settings.AI_PROXY_STATIC_TOKEN_TTL)

    def env_default_model(self) -> str | None:
        """The model the environment chose for proxy sessions, if any."""
        if self.default_model_setting is None:
            return None
        return getattr(settings, self.default_model_setting, "") or None

    def key_serves(self, provider: str) -> bool:
        """Whether an API key of this agent is a key of this provider."""
        return provider in self.key_providers

    def serves(self, provider: str) -> bool:
        """Whether a catalog model of this provider can be this agent's proxy model."""
        return self.proxy_route is not None and self.proxy_route.serves(provider)


AGENTS: dict[str, AgentSpec] = {
    spec.agent_type: spec
    for spec in (
        AgentSpec(
            agent_type="claude-code",
            label="Claude Code",
            key_env="ANTHROPIC_API_KEY",
            oauth_env="CLAUDE_CODE_OAUTH_TOKEN",
            oauth_accepted=True,
            proxy_provider="anthropic-proxy",
            proxy_route=ANTHROPIC_MESSAGES,
            default_model="claude-sonnet-4-6",
            default_model_setting="AI_PROXY_DEFAULT_ANTHROPIC_MODEL",
            key_providers=(Provider.ANTHROPIC,),
            renews_token=True,
        ),
        AgentSpec(
            agent_type="openai-codex",
            label="Codex",
            key_env="OPENAI_API_KEY",
            oauth_env=None,  # Codex reads OAuth from auth.json, not from the environment
            oauth_accepted=True,
            proxy_provider="openai-proxy",
            proxy_route=RESPONSES,
            default_model="gpt-4.1",
            default_model_setting="AI_PROXY_DEFAULT_OPENAI_MODEL",
            key_providers=(Provider.OPENAI, Provider.OPENAI_COMPATIBLE),
            renews_token=True,
        ),
        AgentSpec(
            agent_type="opencode",
            label="OpenCode",
            key_env="OPENCODE_API_KEY",
            oauth_env=None,
            oauth_accepted=False,
            proxy_provider="openai-compatible",
            proxy_route=CHAT_COMPLETIONS,
            default_model="gpt-4.1-mini",
            default_model_setting="AI_PROXY_DEFAULT_MODEL",
            key_providers=(Provider.OPENAI, Provider.OPENAI_COMPATIBLE),
        ),
        AgentSpec(
            agent_type="google-gemini",
            label="Gemini CLI",
            key_env="GEMINI_API_KEY",
            oauth_env=None,
            oauth_accepted=False,
        ),
        AgentSpec(
            agent_type="mistral-vibe",
            label="Mistral Vibe",
            key_env="MISTRAL_API_KEY",
            oauth_env=None,
            oauth_accepted=False,
        ),
    )
}

AGENT_CHOICES = [(spec.agent_type, spec.label) for spec in AGENTS.values()]
PROXY_ELIGIBLE_AGENTS = tuple(a for a, spec in AGENTS.items() if spec.proxy_eligible)
PROXY_PROVIDERS = tuple(str(AGENTS[a].proxy_provider) for a in PROXY_ELIGIBLE_AGENTS)


class UnknownAgent(ValueError):
    def __init__(self, agent_type: object):
        known = ", ".join(AGENTS)
        super().__init__(f"Unknown agent type. Known agent types: {known}.")
        self.agent_type = agent_type


def get_agent(agent_type: object) -> AgentSpec:
    if not isinstance(agent_type, str) or agent_type not in AGENTS:
        raise UnknownAgent(agent_type)
    return AGENTS[agent_type]
