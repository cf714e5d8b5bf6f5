"""The credential-sync request in the OpenAPI schema, as exactly as the server checks it
(drf-spectacular postprocessing hook): which kinds each agent accepts, and the format each
(agent, kind) pair's credential must have (`credentials.catalog.check_secret_format`).

Whitespace here is what Python's `str.isspace` calls whitespace. NUL is never allowed.
"""

from typing import Any

from catalog.agents import AGENTS, API_KEY, OAUTH_TOKEN, PLATFORM_PROXY_SENTINEL

# Python's whitespace (`str.isspace`), spelled out: `\s` means another set in JSON Schema's
# regular expressions (with U+FEFF, without U+001C-U+001F and U+0085).
_WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACE = rf"[{_WHITESPACE}]"
# NUL is refused by the API's string fields (DRF) before any format check.
_VISIBLE = rf"[^\x00{_WHITESPACE}]"
# No whitespace anywhere, the end included (a pattern's `$` lets a final line break through
# where Python, which generates examples, reads it).
_NO_SPACE = rf"(?![\s\S]*[\x00{_WHITESPACE}])"
_SENTINEL = PLATFORM_PROXY_SENTINEL
FORMATS = {
    (API_KEY, None): (
        rf"^{_NO_SPACE}(?!{_SENTINEL}$){_VISIBLE}+$",
        "Any characters but whitespace.",
    ),
    (API_KEY, "claude-code"): (
        rf"^{_NO_SPACE}sk-ant-api{_VISIBLE}{{10,}}$",
        "Starts `sk-ant-api`, at least 20 characters, no whitespace.",
    ),
    (OAUTH_TOKEN, "claude-code"): (
        rf"^(?!sk-ant-api)(?!{_SPACE}*{_SENTINEL}{_SPACE}*$){_SPACE}*{_VISIBLE}+{_SPACE}*$",
        "Does not start `sk-ant-api`; no whitespace inside.",
    ),
    (OAUTH_TOKEN, "openai-codex"): (
        r'^\{"tokens": ?\{"access_token": ?"[A-Za-z0-9._-]+"\}\}$',
        "The JSON content of Codex's auth.json, with a non-empty `tokens.access_token` "
        "(other members are kept; the pattern shows the smallest such document).",
    ),
}


def _variant(agent_type: str, kind: str) -> dict[str, Any]:
    pattern, description = FORMATS.get((kind, agent_type)) or FORMATS[(kind, None)]
    return {
        "type": "object",
        "properties": {
            "agentType": {"type": "string", "enum": [agent_type]},
            "credentialKind": {"type": "string", "enum": [kind]},
            "credential": {"type": "string", "pattern": pattern, "description": description},
        },
        "required": ["agentType", "credentialKind", "credential"],
    }


def credential_sync_request() -> dict[str, Any]:
    variants = [
        _variant(agent_type, kind)
        for agent_type, spec in AGENTS.items()
        for kind in ((API_KEY, OAUTH_TOKEN) if spec.oauth_accepted else (API_KEY,))
    ]
    return {
        "description": "One agent's credential of a kind it accepts, in that kind's format. "
        "The body is at most 64 KiB (413 above).",
        "oneOf": variants,
    }


def exact_sync_request(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    schemas = result.get("components", {}).get("schemas", {})
    if "CredentialSyncRequestRequest" in schemas:
        schemas["CredentialSyncRequestRequest"] = credential_sync_request()
    return result
