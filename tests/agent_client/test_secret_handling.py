"""Secrets stay out of repr, logs and argv; the env file is private, exclusive and removed."""

import json
import os
import stat
import sys

import pytest

from agent_client.environment import AgentSetup
from agent_client.launch import (
    ENV_FILE_VARIABLE,
    child_environment,
    child_run,
    env_file_written,
)
from agent_client.redaction import Redactor, Secret, describe, is_secret_name, secret_names
from agent_client.report import Reporter
from tests.agent_client.answers import CALLBACK_TOKEN, CLAUDE_KEY

SETUP = AgentSetup(
    env={
        "ANTHROPIC_BASE_URL": "https://api.sam.test/ai/anthropic",
        "ANTHROPIC_AUTH_TOKEN": CALLBACK_TOKEN,
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
    },
    unset=("ANTHROPIC_API_KEY", "SAM_CALLBACK_TOKEN"),
)


def redactor_with(*values):
    redactor = Redactor()
    for value in values:
        redactor.add(value)
    return redactor


def test_a_secret_shows_only_its_length():
    secret = Secret(CLAUDE_KEY)

    assert CLAUDE_KEY not in repr(secret)
    assert CLAUDE_KEY not in str(secret)
    assert CLAUDE_KEY not in f"{secret!r} {secret}"
    assert repr(secret) == f"Secret(<{len(CLAUDE_KEY)} chars>)"
    assert secret.reveal() == CLAUDE_KEY


def test_a_secret_inside_a_dataclass_stays_hidden_in_its_repr():
    from agent_client.credential import AgentCredential

    credential = AgentCredential(kind="api-key", source="user", key=Secret(CLAUDE_KEY))

    assert CLAUDE_KEY not in repr(credential)


def test_a_secret_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(CLAUDE_KEY))


@pytest.mark.parametrize(
    "name",
    [
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "SAM_CALLBACK_TOKEN",
        "OPENCODE_CONFIG_CONTENT",
        "MY_CLIENT_SECRET",
        "github_token",
    ],
)
def test_names_that_say_secret_are_secret(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL", "OPENAI_MODEL", "PATH"])
def test_names_that_do_not_are_not(name):
    assert not is_secret_name(name)


def test_a_value_holding_a_secret_is_secret_whatever_its_name():
    redactor = redactor_with(CALLBACK_TOKEN)
    env = {
        "ANTHROPIC_BASE_URL": f"https://x:{CALLBACK_TOKEN}@api.sam.test",
        "OPENCODE_SETTINGS": json.dumps({"apiKey": CALLBACK_TOKEN}),
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
    }

    assert secret_names(env, redactor) == {"ANTHROPIC_BASE_URL", "OPENCODE_SETTINGS"}


def test_a_secret_written_with_json_escapes_is_still_recognised():
    odd_key = 'sk-odd"key\\with-escapes-0000'
    redactor = redactor_with(odd_key)

    assert redactor.contains_secret(json.dumps({"apiKey": odd_key}))
    assert odd_key not in redactor.redact(json.dumps({"apiKey": odd_key}))


def test_redaction_replaces_every_occurrence():
    redactor = redactor_with(CALLBACK_TOKEN, CLAUDE_KEY)

    text = redactor.redact(f"a {CALLBACK_TOKEN} b {CLAUDE_KEY} c {CALLBACK_TOKEN}")

    assert text == "a [redacted] b [redacted] c [redacted]"


def test_descriptions_give_names_and_lengths_never_values():
    secret = secret_names(SETUP.env, redactor_with(CALLBACK_TOKEN))

    text = describe(SETUP.env, SETUP.env, secret)

    assert CALLBACK_TOKEN not in text
    assert f"ANTHROPIC_AUTH_TOKEN (secret, {len(CALLBACK_TOKEN)} chars)" in text
    assert "ANTHROPIC_MODEL (17 chars)" in text


def test_the_reporter_redacts_whatever_it_is_given(capsys):
    reporter = Reporter(redactor_with(CALLBACK_TOKEN))

    reporter.error(f"oops: {CALLBACK_TOKEN}")
    reporter.info(f"info {CALLBACK_TOKEN}")

    err = capsys.readouterr().err
    assert CALLBACK_TOKEN not in err
    assert err.count("[redacted]") == 2


def test_the_agent_gets_its_variables_and_loses_the_ones_it_must_not_inherit():
    base = {
        "PATH": "/usr/bin",
        "ANTHROPIC_API_KEY": "stale-key-from-the-vm",
        "ANTHROPIC_BASE_URL": "https://stale.example",
        "SAM_CALLBACK_TOKEN": CALLBACK_TOKEN,
    }

    env = child_environment(base, SETUP, secret=frozenset(), env_file=None)

    assert env == {"PATH": "/usr/bin", **SETUP.env}


def test_with_an_env_file_the_secrets_are_only_in_the_file(tmp_path):
    secret = frozenset({"ANTHROPIC_AUTH_TOKEN"})
    base = {"PATH": "/usr/bin", "ANTHROPIC_AUTH_TOKEN": "inherited"}

    env = child_environment(base, SETUP, secret=secret, env_file=tmp_path / "f.env")

    assert "ANTHROPIC_AUTH_TOKEN" not in env
    assert env["ANTHROPIC_BASE_URL"] == SETUP.env["ANTHROPIC_BASE_URL"]
    assert env[ENV_FILE_VARIABLE] == str(tmp_path / "f.env")


def test_the_env_file_is_0600_holds_every_variable_and_is_removed_afterwards(tmp_path):
    with env_file_written(tmp_path / "envs", SETUP.env) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        text = path.read_text()
        assert f"export ANTHROPIC_AUTH_TOKEN={CALLBACK_TOKEN}\n" in text
        assert "export ANTHROPIC_MODEL=claude-sonnet-4-6\n" in text

    assert not path.exists()


def test_the_env_file_is_removed_when_the_run_fails(tmp_path):
    with pytest.raises(RuntimeError), env_file_written(tmp_path, SETUP.env) as path:
        raise RuntimeError("the agent could not start")

    assert not path.exists()


def test_the_env_file_is_sourceable_by_sh_with_awkward_values(tmp_path):
    env = {"OPENCODE_CONFIG_CONTENT": json.dumps({"a": 'it\'s $HOME `x` "q"'}), "X_MODEL": "m"}

    with env_file_written(tmp_path, env) as path:
        code = child_run(
            ["sh", "-c", f'. "{path}" && test "$OPENCODE_CONFIG_CONTENT" = "$EXPECTED"'],
            {"PATH": os.environ["PATH"], "EXPECTED": env["OPENCODE_CONFIG_CONTENT"]},
        )

    assert code == 0


def test_the_env_file_name_is_unpredictable_and_never_reused(tmp_path):
    with (
        env_file_written(tmp_path, SETUP.env) as first,
        env_file_written(tmp_path, SETUP.env) as second,
    ):
        assert first != second


def test_the_agents_exit_code_is_passed_through():
    assert child_run([sys.executable, "-c", "raise SystemExit(7)"], dict(os.environ)) == 7


def test_an_agent_killed_by_a_signal_exits_128_plus_the_signal():
    code = child_run(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
        dict(os.environ),
    )

    assert code == 128 + 15


def test_the_agent_setup_and_the_raw_answer_keep_keys_out_of_their_repr():
    from agent_client.transport import Response

    answer = Response(status=200, body=json.dumps({"apiKey": CLAUDE_KEY}).encode())

    assert CALLBACK_TOKEN not in repr(SETUP)
    assert CLAUDE_KEY not in repr(answer)
    assert "status=200" in repr(answer)
