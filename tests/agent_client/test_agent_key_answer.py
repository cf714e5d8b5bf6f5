"""Checking the agent-key answer: anything but a documented shape is refused, quoting nothing."""

import copy

import pytest

from agent_client.catalog import AGENTS
from agent_client.credential import credential_parse
from agent_client.errors import EXIT_FAILURE, ResponseInvalid
from agent_client.origin import URLRefused, parse_url
from agent_client.redaction import Redactor, Secret
from tests.agent_client.answers import (
    ALL_SECRETS,
    CALLBACK_TOKEN,
    CLAUDE_KEY,
    CLAUDE_OAUTH,
    CODEX_AUTH,
    PROXY_TOKEN,
    SENTINEL,
    key_answer,
    proxy_answer,
)

BASE = "https://api.sam.test"
CONTROL_PLANE = parse_url(BASE, what="control plane").origin


def parse(agent_type, body, redactor=None):
    return credential_parse(
        body,
        agent=AGENTS[agent_type],
        control_plane=CONTROL_PLANE,
        token=Secret(CALLBACK_TOKEN),
        redactor=redactor or Redactor(),
    )


def proxy_with(agent_type="claude-code", mode="callback", **changes):
    body = copy.deepcopy(proxy_answer(agent_type, BASE, mode))
    for name, value in changes.items():
        if name in ("apiKey", "credentialKind", "credentialSource"):
            body[name] = value
        elif value is None:
            body["inferenceConfig"].pop(name)
        else:
            body["inferenceConfig"][name] = value
    return body


MALFORMED = [
    ("claude-code", ["a list"], "not a JSON object"),
    ("claude-code", "a string", "not a JSON object"),
    ("claude-code", {"credentialKind": "api-key", "credentialSource": "user"}, "apiKey"),
    ("claude-code", key_answer(""), "apiKey"),
    ("claude-code", {**key_answer(CLAUDE_KEY), "apiKey": 42}, "apiKey"),
    ("claude-code", key_answer(CLAUDE_KEY, kind="password"), "credentialKind"),
    ("claude-code", key_answer(CLAUDE_KEY, source="someone"), "credentialSource"),
    ("claude-code", key_answer(SENTINEL, source="platform"), "placeholder"),
    ("claude-code", key_answer(CLAUDE_KEY + "\nX-Injected: 1"), "spaces or control"),
    ("claude-code", key_answer(CLAUDE_KEY + " trailing"), "spaces or control"),
    ("claude-code", key_answer(CLAUDE_OAUTH + "\n", kind="oauth-token"), "spaces or control"),
    ("opencode", key_answer(CLAUDE_OAUTH, kind="oauth-token"), "does not take OAuth"),
    ("google-gemini", key_answer(CLAUDE_OAUTH, kind="oauth-token"), "does not take OAuth"),
    ("openai-codex", key_answer("not json", kind="oauth-token"), "not a JSON document"),
    ("openai-codex", key_answer('{"tokens": {}}', kind="oauth-token"), "access_token"),
    (
        "openai-codex",
        key_answer('{"tokens": {"access_token": " "}}', kind="oauth-token"),
        "access_token",
    ),
    (
        "claude-code",
        {**key_answer(SENTINEL, source="platform"), "inferenceConfig": "x"},
        "not an object",
    ),
    ("google-gemini", proxy_with("claude-code"), "cannot use the platform AI proxy"),
    ("mistral-vibe", proxy_with("claude-code"), "cannot use the platform AI proxy"),
    ("claude-code", proxy_with(credentialKind="oauth-token"), "kind api-key"),
    ("claude-code", proxy_with(provider="openai-proxy"), "provider is not anthropic-proxy"),
    (
        "openai-codex",
        proxy_with("openai-codex", provider="anthropic-proxy"),
        "provider is not openai-proxy",
    ),
    ("opencode", proxy_with("opencode", provider=None), "provider is not openai-compatible"),
    ("claude-code", proxy_with(model=None), "model"),
    ("claude-code", proxy_with(model=""), "model"),
    ("claude-code", proxy_with(model="claude sonnet"), "model"),
    ("claude-code", proxy_with(model="claude\n"), "model"),
    ("claude-code", proxy_with(model=["claude-sonnet-4-6"]), "model"),
    ("claude-code", proxy_with(apiKeySource=None), "apiKeySource"),
    ("claude-code", proxy_with(apiKeySource="environment"), "apiKeySource"),
    ("claude-code", proxy_with(apiKey=CLAUDE_KEY), "must be the placeholder"),
    ("claude-code", proxy_with(mode="scoped", apiKey=SENTINEL), "sam_px_"),
    ("claude-code", proxy_with(mode="scoped", apiKey=CALLBACK_TOKEN), "sam_px_"),
    ("claude-code", proxy_with(mode="scoped", apiKey=PROXY_TOKEN + "\n"), "sam_px_"),
    ("claude-code", proxy_with(baseURL=None), "baseURL is not a URL"),
]


@pytest.mark.parametrize(("agent_type", "body", "reason"), MALFORMED)
def test_a_malformed_answer_is_refused_with_its_reason(agent_type, body, reason):
    with pytest.raises(ResponseInvalid, match=reason) as refused:
        parse(agent_type, body)

    assert refused.value.exit_code == EXIT_FAILURE
    message = str(refused.value)
    assert not any(secret in message for secret in ALL_SECRETS)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://evil.test/ai/anthropic",
        "http://api.sam.test/ai/anthropic",
        "https://x@api.sam.test/ai",
    ],
)
@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_a_proxy_on_another_origin_is_refused_in_both_modes(base_url, mode):
    with pytest.raises(URLRefused) as refused:
        parse("claude-code", proxy_with(mode=mode, baseURL=base_url))

    assert refused.value.exit_code == EXIT_FAILURE


def test_keys_and_auth_json_tokens_are_registered_as_secrets_as_soon_as_they_are_read():
    redactor = Redactor()
    parse("openai-codex", key_answer(CODEX_AUTH, kind="oauth-token"), redactor)

    assert redactor.contains_secret("token eyJ-codex-access-token-000000000000000000IIII here")
    assert redactor.contains_secret("codex-refresh-token-0000000000000000000JJJJ")
    assert redactor.redact(CODEX_AUTH) == "[redacted]"


def test_the_placeholder_is_not_registered_as_a_secret():
    redactor = Redactor()
    parse("claude-code", proxy_answer("claude-code", BASE), redactor)

    assert not redactor.contains_secret(SENTINEL)


def test_other_fields_of_the_answer_are_ignored():
    body = {**key_answer(CLAUDE_KEY), "expiresAt": "later", "note": {"any": "thing"}}

    assert parse("claude-code", body).key.reveal() == CLAUDE_KEY
