"""What an agent needs to start, built from its validated credential.

One function per provider route, each returning the variables to set, the variables the
agent must not inherit, and the files to write (Codex only).
"""

import json
import shlex
from dataclasses import dataclass, field, replace

from agent_client.catalog import (
    ANTHROPIC_PROXY,
    OAUTH_TOKEN,
    OPENAI_COMPATIBLE,
    OPENAI_PROXY,
    Agent,
)
from agent_client.credential import AgentCredential, ProxyConfig
from agent_client.redaction import Secret
from agent_client.renewal import Renewal

CALLBACK_TOKEN_ENV = "SAM_CALLBACK_TOKEN"  # noqa: S105 - a variable name, not a secret
CODEX_PROVIDER_ID = "sam-proxy"
CODEX_PROVIDER_NAME = "SAM platform AI proxy"
CODEX_KEY_ENV = "OPENAI_API_KEY"
OPENCODE_PROVIDER_ID = "sam"
# How often Claude Code runs its apiKeyHelper again (it also does at once after a 401).
CLAUDE_HELPER_TTL_ENV = "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"


# How long Codex lets the token command run (Python's start and one POST).
CODEX_AUTH_TIMEOUT_MS = 15000


@dataclass(frozen=True)
class CodexAuth:
    """`[model_providers.<id>.auth]`: Codex runs this command for its bearer token, again
    every `refresh_interval_ms` and after a 401."""

    command: str
    args: tuple[str, ...]
    refresh_interval_ms: int
    timeout_ms: int = CODEX_AUTH_TIMEOUT_MS


@dataclass(frozen=True)
class CodexProvider:
    """The provider block written to Codex's config.toml (current Codex ignores OPENAI_BASE_URL).

    The key comes from `env_key`, or, when the agent renews its token, from `auth` (Codex
    takes one or the other)."""

    base_url: str
    model: str
    provider_id: str = CODEX_PROVIDER_ID
    name: str = CODEX_PROVIDER_NAME
    env_key: str | None = CODEX_KEY_ENV
    wire_api: str = "responses"
    auth: CodexAuth | None = None


@dataclass(frozen=True)
class AgentSetup:
    env: dict[str, str] = field(repr=False)  # values include the key
    unset: tuple[str, ...]
    # Codex only: reconcile config.toml (write this block, or remove ours when None) and,
    # for an OAuth credential, write auth.json.
    manages_codex_config: bool = False
    codex_provider: CodexProvider | None = None
    codex_auth: Secret | None = field(default=None)
    # Claude Code only: the `apiKeyHelper` command to put in its settings.json for the run.
    claude_key_helper: str | None = None


def agent_setup(
    agent: Agent, credential: AgentCredential, renewal: Renewal | None = None
) -> AgentSetup:
    """What the agent needs; with `renewal` (a proxy token, an agent that renews its own)
    the agent gets no token at all, only the command that fetches one."""
    if credential.proxy is not None and renewal is not None:
        env = _renewing_env(credential.proxy, renewal)
    elif credential.proxy is not None:
        env = _proxy_env(credential.proxy, credential.key)
    elif credential.kind == OAUTH_TOKEN and agent.oauth_env is not None:
        env = {agent.oauth_env: credential.key.reveal()}
    elif credential.kind == OAUTH_TOKEN:
        env = {}  # Codex: the credential is the auth.json file
    else:
        env = {agent.key_env: credential.key.reveal()}
    # The agent must not inherit this agent's other credential variables (a stale base URL
    # would carry a user's key elsewhere), nor the callback token, which opens the workspace
    # API and is passed on only when it is the proxy key itself.
    unset = tuple(name for name in (*agent.managed_env, CALLBACK_TOKEN_ENV) if name not in env)
    if not agent.oauth_file:
        helper = shlex.join(renewal.argv) if renewal and credential.proxy else None
        return AgentSetup(env=env, unset=unset, claude_key_helper=helper)
    provider = None
    if credential.proxy is not None:
        provider = CodexProvider(base_url=credential.proxy.base_url, model=credential.proxy.model)
        if renewal is not None:
            auth = CodexAuth(renewal.argv[0], renewal.argv[1:], renewal.refresh_ms)
            provider = replace(provider, env_key=None, auth=auth)
    return AgentSetup(
        env=env,
        unset=unset,
        manages_codex_config=True,
        codex_provider=provider,
        codex_auth=credential.key if credential.kind == OAUTH_TOKEN else None,
    )


def _renewing_env(proxy: ProxyConfig, renewal: Renewal) -> dict[str, str]:
    if proxy.provider == ANTHROPIC_PROXY:
        return {
            "ANTHROPIC_BASE_URL": proxy.base_url,
            "ANTHROPIC_MODEL": proxy.model,
            CLAUDE_HELPER_TTL_ENV: str(renewal.refresh_ms),
        }
    if proxy.provider == OPENAI_PROXY:
        return {"OPENAI_BASE_URL": proxy.base_url, "OPENAI_MODEL": proxy.model}
    raise ValueError(f"{proxy.provider} has no token renewal")


def _proxy_env(proxy: ProxyConfig, key: Secret) -> dict[str, str]:
    if proxy.provider == ANTHROPIC_PROXY:
        # ANTHROPIC_AUTH_TOKEN goes out as `Authorization: Bearer`, as the proxy expects; no
        # ANTHROPIC_API_KEY, so the token is the only credential the agent holds.
        return {
            "ANTHROPIC_BASE_URL": proxy.base_url,
            "ANTHROPIC_AUTH_TOKEN": key.reveal(),
            "ANTHROPIC_MODEL": proxy.model,
        }
    if proxy.provider == OPENAI_PROXY:
        return {
            "OPENAI_BASE_URL": proxy.base_url,
            "OPENAI_API_KEY": key.reveal(),
            "OPENAI_MODEL": proxy.model,
        }
    if proxy.provider == OPENAI_COMPATIBLE:
        return {"OPENCODE_CONFIG_CONTENT": opencode_config(proxy, key)}
    raise ValueError(f"no environment for provider {proxy.provider}")


def opencode_config(proxy: ProxyConfig, key: Secret) -> str:
    """OpenCode's inline config: one OpenAI-compatible provider at the proxy, and its model.

    The key is written into the document itself, so it works whether or not an OpenCode
    release expands `{env:…}` in inline config; that makes the variable secret.
    """
    document = {
        "$schema": "https://opencode.ai/config.json",
        "provider": {
            OPENCODE_PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "SAM platform AI",
                "options": {"baseURL": proxy.base_url, "apiKey": key.reveal()},
                "models": {proxy.model: {"name": proxy.model}},
            }
        },
        "model": f"{OPENCODE_PROVIDER_ID}/{proxy.model}",
    }
    return json.dumps(document, separators=(",", ":"))
