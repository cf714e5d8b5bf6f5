"""Codex's config.toml: the managed provider block is merged in, replaced, and removed cleanly."""

import tomllib
from dataclasses import replace

import pytest

from agent_client.codex_config import BEGIN, config_apply, config_strip
from agent_client.environment import CodexAuth, CodexProvider
from agent_client.errors import LocalFileError

PROVIDER = CodexProvider(base_url="https://api.sam.test/ai/v1", model="gpt-4.1")
USER_CONFIG = """\
# my Codex settings
model = "o3"
approval_policy = "on-request"
notify = [
  "notify-send",
  "codex",
]

[mcp_servers.docs]
command = "docs-server"
args = ["--port", "4000"]

[profiles.fast]
model = "gpt-4.1-mini"
model_provider = "openai"
"""


def test_an_empty_file_gets_the_provider_and_the_model():
    document = tomllib.loads(config_apply("", PROVIDER))

    assert document == {
        "model_provider": "sam-proxy",
        "model": "gpt-4.1",
        "model_providers": {
            "sam-proxy": {
                "name": "SAM platform AI proxy",
                "base_url": "https://api.sam.test/ai/v1",
                "env_key": "OPENAI_API_KEY",
                "wire_api": "responses",
            }
        },
    }


def test_the_users_settings_are_kept():
    before = tomllib.loads(USER_CONFIG)

    after = tomllib.loads(config_apply(USER_CONFIG, PROVIDER))

    assert after["approval_policy"] == before["approval_policy"]
    assert after["notify"] == before["notify"]
    assert after["mcp_servers"] == before["mcp_servers"]
    assert after["profiles"] == before["profiles"]
    assert after["model_provider"] == "sam-proxy"
    assert after["model"] == "gpt-4.1"


def test_the_users_comments_and_lines_are_kept_verbatim():
    merged = config_apply(USER_CONFIG, PROVIDER)

    for line in USER_CONFIG.splitlines():
        if line.startswith("model = "):
            continue
        assert line in merged.splitlines()


def test_rerunning_replaces_the_block_and_never_duplicates_it():
    once = config_apply(USER_CONFIG, PROVIDER)
    twice = config_apply(once, PROVIDER)

    assert twice == once
    assert once.count("[model_providers.sam-proxy]") == 1
    assert once.count(BEGIN) == 2


def test_a_new_base_url_or_model_replaces_the_old_one():
    first = config_apply(USER_CONFIG, PROVIDER)
    moved = CodexProvider(base_url="https://api.other.test/ai/v1", model="gpt-5.2")

    document = tomllib.loads(config_apply(first, moved))

    assert document["model_providers"]["sam-proxy"]["base_url"] == "https://api.other.test/ai/v1"
    assert document["model"] == "gpt-5.2"
    assert config_apply(first, moved).count("[model_providers.sam-proxy]") == 1


def test_removing_the_block_restores_the_users_file():
    merged = config_apply(USER_CONFIG, PROVIDER)

    assert config_apply(merged, None) == USER_CONFIG
    assert config_strip(merged) == USER_CONFIG


def test_the_users_own_model_is_restored_when_the_proxy_is_no_longer_used():
    merged = config_apply(USER_CONFIG, PROVIDER)

    assert tomllib.loads(config_apply(merged, None))["model"] == "o3"


def test_a_file_without_a_managed_block_is_left_as_is_when_no_provider_is_wanted():
    assert config_apply(USER_CONFIG, None) == USER_CONFIG


def test_a_file_without_a_final_newline_gets_one():
    merged = config_apply('approval_policy = "never"', PROVIDER)

    assert tomllib.loads(merged)["approval_policy"] == "never"
    assert config_apply(merged, None) == 'approval_policy = "never"\n'


def test_a_profiles_model_setting_is_not_touched():
    merged = config_apply(USER_CONFIG, PROVIDER)

    assert tomllib.loads(merged)["profiles"]["fast"] == {
        "model": "gpt-4.1-mini",
        "model_provider": "openai",
    }


def test_quoted_top_level_keys_are_recognised():
    merged = config_apply('"model" = "o3"\n\'model_provider\' = "openai"\n', PROVIDER)

    document = tomllib.loads(merged)
    assert (document["model"], document["model_provider"]) == ("gpt-4.1", "sam-proxy")


def test_an_invalid_file_is_refused_and_not_rewritten():
    with pytest.raises(LocalFileError, match="not valid TOML"):
        config_apply("model = \n[broken", PROVIDER)


def test_a_user_table_with_the_managed_providers_name_is_refused():
    text = '[model_providers.sam-proxy]\nbase_url = "https://elsewhere.test"\n'

    with pytest.raises(LocalFileError, match="outside the managed block"):
        config_apply(text, PROVIDER)


def test_a_top_level_inline_providers_table_that_cannot_take_the_block_is_refused():
    text = 'model_providers = { local = { base_url = "http://localhost:1234" } }\n'

    with pytest.raises(LocalFileError, match="left unchanged"):
        config_apply(text, PROVIDER)


def test_a_multiline_string_that_looks_like_a_model_line_is_never_altered():
    text = 'instructions = """\nmodel = "this is prose, not a key"\n"""\n'

    with pytest.raises(LocalFileError, match="left unchanged"):
        config_apply(text, PROVIDER)


def test_an_unterminated_managed_block_is_refused():
    with pytest.raises(LocalFileError, match="no end marker"):
        config_apply(BEGIN + '\nmodel = "x"\n', PROVIDER)


RENEWING = replace(
    PROVIDER,
    env_key=None,
    auth=CodexAuth(
        "/usr/bin/python3",
        ("-m", "agent_client", "token", "--agent", "openai-codex", "--token-file", "/run/t é"),
        refresh_interval_ms=900_000,
    ),
)


def test_a_renewing_provider_gets_an_auth_command_and_no_env_key():
    document = tomllib.loads(config_apply(USER_CONFIG, RENEWING))

    provider = document["model_providers"]["sam-proxy"]
    assert "env_key" not in provider
    assert provider["auth"] == {
        "command": "/usr/bin/python3",
        "args": [
            "-m",
            "agent_client",
            "token",
            "--agent",
            "openai-codex",
            "--token-file",
            "/run/t é",
        ],
        "refresh_interval_ms": 900_000,
        "timeout_ms": 15_000,
    }
    assert document["mcp_servers"] == tomllib.loads(USER_CONFIG)["mcp_servers"]


def test_switching_between_renewing_and_a_static_key_replaces_the_block():
    renewing = config_apply(USER_CONFIG, RENEWING)

    static = tomllib.loads(config_apply(renewing, PROVIDER))["model_providers"]["sam-proxy"]

    assert static["env_key"] == "OPENAI_API_KEY"
    assert "auth" not in static
    assert config_apply(renewing, None) == USER_CONFIG
