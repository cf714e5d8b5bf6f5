"""Agent-key answers shaped like the control plane's, and the secrets used in the client tests."""

import json
from typing import Any

CALLBACK_TOKEN = "sam_cb_" + "C" * 43
PROXY_TOKEN = "sam_px_" + "P" * 43
CLAUDE_KEY = "sk-ant-api03-user-key-000000000000000000000000AAAA"
CLAUDE_OAUTH = "sk-ant-oat01-oauth-token-0000000000000000000000BBBB"
OPENAI_KEY = "sk-proj-user-openai-key-0000000000000000000000DDDD"
OPENCODE_KEY = "oc-user-opencode-key-000000000000000000000000EEEE"
GEMINI_KEY = "AIza-user-gemini-key-00000000000000000000000FFFF"
MISTRAL_KEY = "mistral-user-key-0000000000000000000000000000GGGG"
CODEX_AUTH = json.dumps(
    {
        "OPENAI_API_KEY": None,
        "tokens": {
            "id_token": "eyJ-codex-id-token-0000000000000000000000HHHH",
            "access_token": "eyJ-codex-access-token-000000000000000000IIII",
            "refresh_token": "codex-refresh-token-0000000000000000000JJJJ",
            "account_id": "acct-0000",
        },
        "last_refresh": "2026-01-01T00:00:00Z",
    },
    indent=2,
)
SENTINEL = "__platform_proxy__"
ALL_SECRETS = (
    CALLBACK_TOKEN,
    PROXY_TOKEN,
    CLAUDE_KEY,
    CLAUDE_OAUTH,
    OPENAI_KEY,
    OPENCODE_KEY,
    GEMINI_KEY,
    MISTRAL_KEY,
    "eyJ-codex-access-token-000000000000000000IIII",
    "codex-refresh-token-0000000000000000000JJJJ",
    "eyJ-codex-id-token-0000000000000000000000HHHH",
)

PROXY_ROUTES = {
    "claude-code": ("anthropic-proxy", "/ai/anthropic", "claude-sonnet-4-6"),
    "openai-codex": ("openai-proxy", "/ai/v1", "gpt-4.1"),
    "opencode": ("openai-compatible", "/ai/v1", "gpt-4.1-mini"),
}


def key_answer(key: str, kind: str = "api-key", source: str = "user") -> dict[str, Any]:
    return {"apiKey": key, "credentialKind": kind, "credentialSource": source}


def proxy_answer(agent: str, base: str, mode: str = "callback") -> dict[str, Any]:
    provider, path, model = PROXY_ROUTES[agent]
    scoped = mode == "scoped"
    return {
        "apiKey": PROXY_TOKEN if scoped else SENTINEL,
        "credentialKind": "api-key",
        "credentialSource": "platform",
        "inferenceConfig": {
            "provider": provider,
            "baseURL": base + path,
            "model": model,
            "apiKeySource": "proxy-token" if scoped else "callback-token",
        },
    }
