"""The environment built for every (agent, credential kind, provider) pair, in both proxy modes."""

import json

import pytest

from agent_client.catalog import AGENTS
from agent_client.credential import credential_parse
from agent_client.environment import agent_setup
from agent_client.origin import parse_url
from agent_client.redaction import Redactor, Secret
from tests.agent_client.answers import (
    CALLBACK_TOKEN,
    CLAUDE_KEY,
    CLAUDE_OAUTH,
    CODEX_AUTH,
    GEMINI_KEY,
    MISTRAL_KEY,
    OPENAI_KEY,
    OPENCODE_KEY,
    PROXY_TOKEN,
    SENTINEL,
    key_answer,
    proxy_answer,
)

BASE = "https://api.sam.test"
CONTROL_PLANE = parse_url(BASE, what="control plane").origin
PROXY_KEYS = {"callback": CALLBACK_TOKEN, "scoped": PROXY_TOKEN}


def setup_for(agent_type, body):
    agent = AGENTS[agent_type]
    credential = credential_parse(
        body,
        agent=agent,
        control_plane=CONTROL_PLANE,
        token=Secret(CALLBACK_TOKEN),
        redactor=Redactor(),
    )
    return agent_setup(agent, credential)


@pytest.mark.parametrize(
    ("agent_type", "key", "variable"),
    [
        ("claude-code", CLAUDE_KEY, "ANTHROPIC_API_KEY"),
        ("openai-codex", OPENAI_KEY, "OPENAI_API_KEY"),
        ("opencode", OPENCODE_KEY, "OPENCODE_API_KEY"),
        ("google-gemini", GEMINI_KEY, "GEMINI_API_KEY"),
        ("mistral-vibe", MISTRAL_KEY, "MISTRAL_API_KEY"),
    ],
)
@pytest.mark.parametrize("source", ["user", "project", "platform"])
def test_an_api_key_goes_to_the_agents_key_variable_alone(agent_type, key, variable, source):
    setup = setup_for(agent_type, key_answer(key, source=source))

    assert setup.env == {variable: key}
    assert set(setup.unset) == (set(AGENTS[agent_type].managed_env) - {variable}) | {
        "SAM_CALLBACK_TOKEN"
    }


def test_a_claude_oauth_token_goes_to_claude_code_oauth_token():
    setup = setup_for("claude-code", key_answer(CLAUDE_OAUTH, kind="oauth-token"))

    assert setup.env == {"CLAUDE_CODE_OAUTH_TOKEN": CLAUDE_OAUTH}
    assert "ANTHROPIC_API_KEY" in setup.unset
    assert "ANTHROPIC_AUTH_TOKEN" in setup.unset


def test_a_codex_oauth_credential_becomes_auth_json_and_no_variable():
    setup = setup_for("openai-codex", key_answer(CODEX_AUTH, kind="oauth-token"))

    assert setup.env == {}
    assert setup.codex_auth is not None
    assert setup.codex_auth.reveal() == CODEX_AUTH
    assert "OPENAI_API_KEY" in setup.unset
    assert setup.manages_codex_config
    assert setup.codex_provider is None


def test_a_codex_api_key_removes_any_managed_provider_block():
    setup = setup_for("openai-codex", key_answer(OPENAI_KEY))

    assert setup.manages_codex_config
    assert setup.codex_provider is None
    assert setup.codex_auth is None


@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_claude_code_behind_the_proxy_gets_base_url_auth_token_and_model(mode):
    setup = setup_for("claude-code", proxy_answer("claude-code", BASE, mode))

    assert setup.env == {
        "ANTHROPIC_BASE_URL": "https://api.sam.test/ai/anthropic",
        "ANTHROPIC_AUTH_TOKEN": PROXY_KEYS[mode],
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
    }
    assert "ANTHROPIC_API_KEY" in setup.unset
    assert "CLAUDE_CODE_OAUTH_TOKEN" in setup.unset
    assert "SAM_CALLBACK_TOKEN" in setup.unset


@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_codex_behind_the_proxy_gets_openai_variables_and_a_provider_block(mode):
    setup = setup_for("openai-codex", proxy_answer("openai-codex", BASE, mode))

    assert setup.env == {
        "OPENAI_BASE_URL": "https://api.sam.test/ai/v1",
        "OPENAI_API_KEY": PROXY_KEYS[mode],
        "OPENAI_MODEL": "gpt-4.1",
    }
    provider = setup.codex_provider
    assert provider is not None
    assert (provider.base_url, provider.model) == ("https://api.sam.test/ai/v1", "gpt-4.1")
    assert (provider.env_key, provider.wire_api) == ("OPENAI_API_KEY", "responses")
    assert setup.codex_auth is None


@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_opencode_behind_the_proxy_gets_an_openai_compatible_provider_in_its_inline_config(mode):
    setup = setup_for("opencode", proxy_answer("opencode", BASE, mode))

    assert set(setup.env) == {"OPENCODE_CONFIG_CONTENT"}
    config = json.loads(setup.env["OPENCODE_CONFIG_CONTENT"])
    provider = config["provider"]["sam"]
    assert provider["npm"] == "@ai-sdk/openai-compatible"
    assert provider["options"] == {
        "baseURL": "https://api.sam.test/ai/v1",
        "apiKey": PROXY_KEYS[mode],
    }
    assert list(provider["models"]) == ["gpt-4.1-mini"]
    assert config["model"] == "sam/gpt-4.1-mini"
    assert "OPENCODE_API_KEY" in setup.unset


@pytest.mark.parametrize("agent_type", ["claude-code", "openai-codex", "opencode"])
@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_the_placeholder_reaches_no_variable_and_no_file(agent_type, mode):
    setup = setup_for(agent_type, proxy_answer(agent_type, BASE, mode))

    assert not any(SENTINEL in value for value in setup.env.values())
    assert SENTINEL not in repr(setup.codex_provider)
    assert setup.codex_auth is None


def test_the_proxy_base_url_is_handed_over_in_the_canonical_form_that_was_checked():
    body = proxy_answer("claude-code", BASE)
    body["inferenceConfig"]["baseURL"] = "HTTPS://API.SAM.TEST.:443/ai/anthropic/"

    setup = setup_for("claude-code", body)

    assert setup.env["ANTHROPIC_BASE_URL"] == "https://api.sam.test/ai/anthropic"


def test_only_codex_touches_files():
    for agent_type in ("claude-code", "opencode", "google-gemini", "mistral-vibe"):
        setup = setup_for(agent_type, key_answer(GEMINI_KEY))
        assert not setup.manages_codex_config
        assert setup.codex_auth is None
