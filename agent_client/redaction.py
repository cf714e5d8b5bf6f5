"""Keeping secrets out of everything the client prints, logs, raises or shows with `repr`.

A variable is secret when its name says so (listed, or containing _KEY, _TOKEN or _SECRET)
or when its value contains a known secret, so a URL or a JSON document holding a token is
secret whatever it is called.
"""

import json
from collections.abc import Iterable

SECRET_NAME_MARKERS = ("_KEY", "_TOKEN", "_SECRET")
LISTED_SECRET_NAMES = frozenset(
    {
        "SAM_CALLBACK_TOKEN",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "OPENCODE_CONFIG_CONTENT",
    }
)
REDACTED = "[redacted]"
# Shorter values are not redacted inside text: replacing every "abc" would garble messages,
# and no credential the control plane accepts is that short.
_MIN_REDACTED_CHARS = 6


class Secret:
    """A value that must not be printed: `str` and `repr` show only its length."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret(<{len(self._value)} chars>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


class Redactor:
    """The secrets this process has seen, and the means to scrub them out of text."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str | Secret | None) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not value or len(value) < _MIN_REDACTED_CHARS:
            return
        self._values.add(value)
        # The same value written inside a JSON string (OPENCODE_CONFIG_CONTENT, auth.json).
        escaped = json.dumps(value)[1:-1]
        if escaped != value:
            self._values.add(escaped)

    def add_json_strings(self, document: object) -> None:
        """Register every string of a JSON document (an auth.json holds several tokens)."""
        if isinstance(document, str):
            self.add(document)
        elif isinstance(document, dict):
            for item in document.values():
                self.add_json_strings(item)
        elif isinstance(document, list):
            for item in document:
                self.add_json_strings(item)

    def contains_secret(self, text: str) -> bool:
        return any(value in text for value in self._values)

    def redact(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper in LISTED_SECRET_NAMES or any(marker in upper for marker in SECRET_NAME_MARKERS)


def secret_names(env: dict[str, str], redactor: Redactor) -> frozenset[str]:
    """The variables of `env` that must be handled as secrets."""
    return frozenset(
        name
        for name, value in env.items()
        if is_secret_name(name) or redactor.contains_secret(value)
    )


def describe(names: Iterable[str], env: dict[str, str], secrets: frozenset[str]) -> str:
    """`NAME (secret, 51 chars), …`: what a log line may say about an environment."""
    parts = []
    for name in sorted(names):
        flag = "secret, " if name in secrets else ""
        parts.append(f"{name} ({flag}{len(env[name])} chars)")
    return ", ".join(parts) or "nothing"
