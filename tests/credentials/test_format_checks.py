"""Format checks of SPEC §3, applied before anything is stored."""

import pytest

from catalog.agents import UnknownAgent
from credentials.formats import CredentialFormatError, check_secret_format

VALID = [
    ("claude-code", "api-key", "sk-ant-api03-abcdefghijklmnop"),
    ("claude-code", "oauth-token", "sk-ant-oat01-abcdefghijklmnop"),
    ("openai-codex", "api-key", "sk-proj-abcdefghijklmnop"),
    ("openai-codex", "oauth-token", '{"tokens": {"access_token": "eyJabc"}}'),
    ("opencode", "api-key", "anything-non-empty"),
    ("google-gemini", "api-key", "AIzaSyA-something"),
    ("mistral-vibe", "api-key", "mistral-key"),
]

INVALID = [
    ("claude-code", "api-key", "sk-ant-oat01-abcdefghijklmnop", "This is an OAuth token"),
    ("claude-code", "api-key", "sk-ant-api03", "at least 20 characters"),
    ("claude-code", "api-key", "sk-live-abcdefghijklmnopqrstu", "starts with 'sk-ant-api'"),
    ("claude-code", "oauth-token", "sk-ant-api03-abcdefghijklmnop", "not an OAuth token"),
    ("openai-codex", "oauth-token", '{"tokens": {}}', "tokens.access_token"),
    ("openai-codex", "oauth-token", "not-json", "JSON content of auth.json"),
    ("opencode", "oauth-token", "token", "does not accept OAuth"),
    ("google-gemini", "oauth-token", "token", "does not accept OAuth"),
    ("opencode", "api-key", "", "empty"),
    ("opencode", "api-key", "   \n", "empty"),
    ("opencode", "api-key", "two words", "spaces"),
    ("opencode", "api-key", "__platform_proxy__", "placeholder"),
    ("opencode", "password", "abc", "Unknown credential kind"),
]


@pytest.mark.parametrize(("agent", "kind", "value"), VALID)
def test_well_formed_credentials_pass(agent, kind, value):
    check_secret_format(agent, kind, value)


@pytest.mark.parametrize(("agent", "kind", "value", "message"), INVALID)
def test_malformed_credentials_are_refused_with_a_reason(agent, kind, value, message):
    with pytest.raises(CredentialFormatError, match=message) as caught:
        check_secret_format(agent, kind, value)
    if len(value) > 8:
        assert value not in str(caught.value)


def test_unknown_agents_are_refused_with_the_known_list():
    with pytest.raises(UnknownAgent, match="claude-code, openai-codex, opencode"):
        check_secret_format("cursor", "api-key", "x" * 30)
