"""Format checks for secrets, run before anything is stored: a value that cannot be right
for its agent and kind is refused with a message that never quotes it."""

import json

from catalog.agents import (
    API_KEY,
    CREDENTIAL_KINDS,
    OAUTH_TOKEN,
    PLATFORM_PROXY_SENTINEL,
    get_agent,
)

# Codex's auth.json after a login holds refresh tokens and an id token; 64 KiB is generous.
MAX_SECRET_CHARS = 64 * 1024


class CredentialFormatError(ValueError):
    """A secret that cannot be right for its agent and kind. Messages never quote the value."""


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
