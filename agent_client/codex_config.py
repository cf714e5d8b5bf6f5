"""The managed part of Codex's config.toml: written for proxy sessions, removed otherwise.

Current Codex releases ignore OPENAI_BASE_URL; they reach a custom endpoint through a provider
declared in config.toml. The client owns two marked blocks in that file and nothing else:

    # >>> sam-agent-client managed block >>>          (at the top: top-level keys)
    model_provider = "sam-proxy"
    model = "gpt-4.1"
    # <<< sam-agent-client managed block <<<
    …the user's own content, kept as it was…
    # >>> sam-agent-client managed block >>>          (at the end: the provider table)
    [model_providers.sam-proxy]
    …
    # <<< sam-agent-client managed block <<<

TOML allows a key once, so a user's own top-level `model_provider` / `model` lines are
commented out with a marker while the block is in place and restored when it is removed.
Every result is parsed back with tomllib and compared with the input; if anything but the
managed keys changed, the file is left alone and an error is raised.
"""

import json
import re
import tomllib
from typing import Any

from agent_client.environment import CodexProvider
from agent_client.errors import LocalFileError

BEGIN = "# >>> sam-agent-client managed block >>>"
END = "# <<< sam-agent-client managed block <<<"
DISABLED = "# sam-agent-client disabled: "
MANAGED_TOP_LEVEL_KEYS = ("model_provider", "model")
_TOP_LEVEL_KEY = re.compile(
    r"""^\s*(?:model_provider|model|"model_provider"|"model"|'model_provider'|'model')\s*="""
)
_TABLE_HEADER = re.compile(r"^\s*\[")


def config_strip(text: str) -> str:
    """`text` without the managed blocks, with the user's disabled lines restored."""
    lines: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if bare == BEGIN:
            inside = True
        elif bare == END and inside:
            inside = False
        elif not inside:
            lines.append(line[len(DISABLED) :] if line.startswith(DISABLED) else line)
    if inside:
        raise LocalFileError(
            "config.toml has a managed block with no end marker; fix or remove the file"
        )
    return "".join(lines)


def config_apply(text: str, provider: CodexProvider | None) -> str:
    """The file's new content: the managed blocks for `provider`, or none when it is None."""
    original = _parse(text, "config.toml is not valid TOML; fix or remove it")
    user_text = config_strip(text)
    if provider is None:
        return user_text
    user = _parse(user_text, "config.toml is not valid TOML once the managed block is removed")
    if provider.provider_id in user.get("model_providers", {}):
        raise LocalFileError(
            f"config.toml already declares model_providers.{provider.provider_id} outside the "
            "managed block; remove that table"
        )
    head, body = _managed_head(provider), _disable_top_level_keys(user_text)
    if body and not body.endswith("\n"):
        body += "\n"
    merged = head + body + _managed_table(provider)
    _verify(original, user, merged, provider)
    return merged


def _parse(text: str, message: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise LocalFileError(message) from None


def _disable_top_level_keys(text: str) -> str:
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if _TABLE_HEADER.match(line):
            break
        if _TOP_LEVEL_KEY.match(line):
            lines[index] = DISABLED + line
    return "".join(lines)


def _string(value: str) -> str:
    # A JSON string literal is a valid TOML basic string for these values (URLs, ids, paths;
    # non-ASCII is escaped as \uXXXX, which TOML reads the same way).
    return json.dumps(value)


def _managed_head(provider: CodexProvider) -> str:
    return (
        f"{BEGIN}\n"
        f"model_provider = {_string(provider.provider_id)}\n"
        f"model = {_string(provider.model)}\n"
        f"{END}\n"
    )


def _managed_table(provider: CodexProvider) -> str:
    lines = [
        BEGIN,
        f"[model_providers.{provider.provider_id}]",
        *(f"{key} = {_value(value)}" for key, value in _provider_keys(provider).items()),
    ]
    if provider.auth is not None:
        lines.append(f"[model_providers.{provider.provider_id}.auth]")
        lines += [f"{key} = {_value(value)}" for key, value in _auth_keys(provider).items()]
    return "\n".join([*lines, END]) + "\n"


def _value(value: str | int | tuple[str, ...]) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_string(item) for item in value) + "]"
    if isinstance(value, int):
        return str(value)
    return _string(value)


def _provider_keys(provider: CodexProvider) -> dict[str, str]:
    keys = {"name": provider.name, "base_url": provider.base_url}
    if provider.env_key is not None:
        keys["env_key"] = provider.env_key
    keys["wire_api"] = provider.wire_api
    return keys


def _auth_keys(provider: CodexProvider) -> dict[str, str | int | tuple[str, ...]]:
    """The command-backed auth (Codex runs it for the bearer token; see `CodexAuth`)."""
    auth = provider.auth
    assert auth is not None
    return {
        "command": auth.command,
        "args": auth.args,
        "refresh_interval_ms": auth.refresh_interval_ms,
        "timeout_ms": auth.timeout_ms,
    }


def _expected_table(provider: CodexProvider) -> dict[str, Any]:
    table: dict[str, Any] = dict(_provider_keys(provider))
    if provider.auth is not None:
        table["auth"] = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in _auth_keys(provider).items()
        }
    return table


def _without_managed(document: dict[str, Any], provider_id: str) -> dict[str, Any]:
    rest = {k: v for k, v in document.items() if k not in MANAGED_TOP_LEVEL_KEYS}
    providers = {k: v for k, v in rest.get("model_providers", {}).items() if k != provider_id}
    rest.pop("model_providers", None)
    if providers:
        rest["model_providers"] = providers
    return rest


def _verify(
    original: dict[str, Any], user: dict[str, Any], merged: str, provider: CodexProvider
) -> None:
    result = _parse(merged, "config.toml cannot take the managed block; it was left unchanged")
    ours = result.get("model_providers", {}).get(provider.provider_id)
    if (
        result.get("model_provider") != provider.provider_id
        or result.get("model") != provider.model
        or ours != _expected_table(provider)
        or _without_managed(result, provider.provider_id)
        != _without_managed(user, provider.provider_id)
        or _without_managed(original, provider.provider_id)
        != _without_managed(user, provider.provider_id)
    ):
        raise LocalFileError(
            "config.toml has a layout the managed block cannot be merged into safely; it was "
            "left unchanged"
        )
