"""What the client knows about each agent: where its credential goes.

A copy of the server's catalog (catalog/agents.py) restricted to what a VM needs; the
client cannot import the server. A test keeps the two in agreement.
"""

from dataclasses import dataclass

API_KEY = "api-key"
OAUTH_TOKEN = "oauth-token"  # noqa: S105 - a kind name, not a secret

# What the control plane sends instead of a key when the agent is to use the platform proxy
# with the VM's own callback token. It is never a credential and never leaves this process.
PLATFORM_PROXY_SENTINEL = "__platform_proxy__"

ANTHROPIC_PROXY = "anthropic-proxy"
OPENAI_PROXY = "openai-proxy"
OPENAI_COMPATIBLE = "openai-compatible"


@dataclass(frozen=True)
class Agent:
    agent_type: str
    key_env: str
    oauth_env: str | None  # the variable an OAuth token goes to, when it goes to one
    oauth_file: bool  # the OAuth credential is a file (Codex auth.json)
    proxy_provider: str | None  # None: the agent cannot use the platform proxy
    # Variables that carry this agent's credential or endpoint. The agent never inherits
    # them from the VM: a stale base URL would send a user's key somewhere else.
    managed_env: tuple[str, ...]
    # The agent runs `python -m agent_client token` itself for a fresh proxy token.
    renews_token: bool = False

    @property
    def oauth_accepted(self) -> bool:
        return self.oauth_env is not None or self.oauth_file


AGENTS: dict[str, Agent] = {
    agent.agent_type: agent
    for agent in (
        Agent(
            agent_type="claude-code",
            key_env="ANTHROPIC_API_KEY",
            oauth_env="CLAUDE_CODE_OAUTH_TOKEN",
            oauth_file=False,
            proxy_provider=ANTHROPIC_PROXY,
            managed_env=(
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CODE_OAUTH_TOKEN",
                "ANTHROPIC_BASE_URL",
                "ANTHROPIC_MODEL",
            ),
            renews_token=True,
        ),
        Agent(
            agent_type="openai-codex",
            key_env="OPENAI_API_KEY",
            oauth_env=None,
            oauth_file=True,
            proxy_provider=OPENAI_PROXY,
            managed_env=("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"),
            renews_token=True,
        ),
        Agent(
            agent_type="opencode",
            key_env="OPENCODE_API_KEY",
            oauth_env=None,
            oauth_file=False,
            proxy_provider=OPENAI_COMPATIBLE,
            managed_env=("OPENCODE_API_KEY", "OPENCODE_CONFIG_CONTENT"),
        ),
        Agent(
            agent_type="google-gemini",
            key_env="GEMINI_API_KEY",
            oauth_env=None,
            oauth_file=False,
            proxy_provider=None,
            managed_env=("GEMINI_API_KEY",),
        ),
        Agent(
            agent_type="mistral-vibe",
            key_env="MISTRAL_API_KEY",
            oauth_env=None,
            oauth_file=False,
            proxy_provider=None,
            managed_env=("MISTRAL_API_KEY",),
        ),
    )
}
