"""The agent catalog: the single source of truth for which agents exist and how each is fed.

Choices, format checks, environment variable names and proxy routes all come from here.
"""

import json
from dataclasses import dataclass

from django.conf import settings

API_KEY = "api-key"
OAUTH_TOKEN = "oauth-token"  # noqa: S105 - a kind name, not a secret
CREDENTIAL_KINDS = (API_KEY, OAUTH_TOKEN)

# Handed to the VM instead of a key when the agent is to use the platform AI proxy with its
# own callback token. It must never be stored or forwarded as a credential.
PLATFORM_PROXY_SENTINEL = "__platform_proxy__"


@dataclass(frozen=True)
class AgentSpec:
    agent_type: str
    label: str
    provider: str
    key_env: str
    oauth_env: str | None  # None: OAuth not accepted, or (Codex) delivered as a file
    oauth_accepted: bool
    proxy_provider: str | None  # None: not eligible for the platform AI proxy
    proxy_base_path: str | None
    default_model: str | None
    default_model_setting: str | None  # the env setting that overrides default_model

    @property
    def proxy_eligible(self) -> bool:
        return self.proxy_provider is not None

    def env_default_model(self) -> str | None:
        """The model the environment chose for proxy sessions, if any."""
        if self.default_model_setting is None:
            return None
        return getattr(settings, self.default_model_setting, "") or None


AGENTS: dict[str, AgentSpec] = {
    spec.agent_type: spec
    for spec in (
        AgentSpec(
            agent_type="claude-code",
            label="Claude Code",
            provider="anthropic",
            key_env="ANTHROPIC_API_KEY",
            oauth_env="CLAUDE_CODE_OAUTH_TOKEN",
            oauth_accepted=True,
            proxy_provider="anthropic-proxy",
            proxy_base_path="/ai/anthropic",
            default_model="claude-sonnet-4-6",
            default_model_setting="AI_PROXY_DEFAULT_ANTHROPIC_MODEL",
        ),
        AgentSpec(
            agent_type="openai-codex",
            label="Codex",
            provider="openai",
            key_env="OPENAI_API_KEY",
            oauth_env=None,  # Codex reads OAuth from auth.json, not from the environment
            oauth_accepted=True,
            proxy_provider="openai-proxy",
            proxy_base_path="/ai/v1",
            default_model="gpt-4.1",
            default_model_setting="AI_PROXY_DEFAULT_OPENAI_MODEL",
        ),
        AgentSpec(
            agent_type="opencode",
            label="OpenCode",
            provider="opencode",
            key_env="OPENCODE_API_KEY",
            oauth_env=None,
            oauth_accepted=False,
            proxy_provider="openai-compatible",
            proxy_base_path="/ai/v1",
            default_model="gpt-4.1-mini",
            default_model_setting="AI_PROXY_DEFAULT_MODEL",
        ),
        AgentSpec(
            agent_type="google-gemini",
            label="Gemini CLI",
            provider="google",
            key_env="GEMINI_API_KEY",
            oauth_env=None,
            oauth_accepted=False,
            proxy_provider=None,
            proxy_base_path=None,
            default_model=None,
            default_model_setting=None,
        ),
        AgentSpec(
            agent_type="mistral-vibe",
            label="Mistral Vibe",
            provider="mistral",
            key_env="MISTRAL_API_KEY",
            oauth_env=None,
            oauth_accepted=False,
            proxy_provider=None,
            proxy_base_path=None,
            default_model=None,
            default_model_setting=None,
        ),
    )
}

AGENT_CHOICES = [(spec.agent_type, spec.label) for spec in AGENTS.values()]
KIND_CHOICES = [(API_KEY, "API key"), (OAUTH_TOKEN, "OAuth token")]
PROXY_ELIGIBLE_AGENTS = tuple(a for a, spec in AGENTS.items() if spec.proxy_eligible)

# Codex's auth.json after a login holds refresh tokens and an id token; 64 KiB is generous.
MAX_SECRET_CHARS = 64 * 1024


class UnknownAgent(ValueError):
    def __init__(self, agent_type: object):
        known = ", ".join(AGENTS)
        super().__init__(f"Unknown agent type. Known agent types: {known}.")
        self.agent_type = agent_type


class CredentialFormatError(ValueError):
    """A secret that cannot be right for its agent and kind. Messages never quote the value."""


def get_agent(agent_type: object) -> AgentSpec:
    if not isinstance(agent_type, str) or agent_type not in AGENTS:
        raise UnknownAgent(agent_type)
    return AGENTS[agent_type]


def check_secret_format(agent_type: str, kind: str, value: str) -> None:
    """Refuse values that cannot work for this agent and kind, before they are stored."""
    spec = get_agent(agent_type)
    if kind not in CREDENTIAL_KINDS:
        raise CredentialFormatError(
            f"Unknown credential kind; use one of: {', '.join(CREDENTIAL_KINDS)}."
        )
    if not value or not value.strip():
        raise CredentialFormatError("The credential is empty.")
    if len(value) > MAX_SECRET_CHARS:
        raise CredentialFormatError("The credential is too long.")
    if value.strip() == PLATFORM_PROXY_SENTINEL:
        raise CredentialFormatError("The platform proxy placeholder is not a credential.")
    if kind == OAUTH_TOKEN and not spec.oauth_accepted:
        raise CredentialFormatError(f"{spec.label} does not accept OAuth tokens; use an API key.")

    if kind == API_KEY:
        if value != value.strip() or any(ch.isspace() for ch in value):
            raise CredentialFormatError("An API key cannot contain spaces or line breaks.")
        if agent_type == "claude-code":
            if value.startswith("sk-ant-oat"):
                raise CredentialFormatError(
                    "This is an OAuth token, not an API key; save it as an OAuth token."
                )
            if not value.startswith("sk-ant-api") or len(value) < 20:
                raise CredentialFormatError(
                    "A Claude API key starts with 'sk-ant-api' and is at least 20 characters."
                )
        return

    if agent_type == "claude-code":
        if value.startswith("sk-ant-api"):
            raise CredentialFormatError(
                "This is an API key, not an OAuth token; save it as an API key."
            )
        if any(ch.isspace() for ch in value.strip()):
            raise CredentialFormatError("An OAuth token cannot contain spaces or line breaks.")
    elif agent_type == "openai-codex":
        _check_codex_auth_json(value)


def _check_codex_auth_json(value: str) -> None:
    try:
        document = json.loads(value)
    except ValueError:
        raise CredentialFormatError(
            "A Codex OAuth credential is the JSON content of auth.json."
        ) from None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    access_token = tokens.get("access_token") if isinstance(tokens, dict) else None
    if not isinstance(access_token, str) or not access_token.strip():
        raise CredentialFormatError(
            "A Codex OAuth credential needs a non-empty tokens.access_token."
        )


def secret_last4(value: str) -> str:
    """The part of a secret that may be shown: its last four characters, or "" when the
    value is too short to show any of it (eight characters or fewer).

    For a Codex auth.json document it is taken from the access token, since the tail of the
    JSON text would tell an admin nothing.
    """
    value = value.strip()
    if value.startswith("{"):
        try:
            value = str(json.loads(value)["tokens"]["access_token"]).strip()
        except (ValueError, KeyError, TypeError):
            return ""
    return value[-4:] if len(value) > 8 else ""
