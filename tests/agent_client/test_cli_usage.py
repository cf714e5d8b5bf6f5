"""Flags, configuration from flags or environment, the token's sources, and usage errors (exit 2)."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from agent_client.cli import build_parser, config_resolve, main
from agent_client.redaction import Redactor
from agent_client.report import Reporter
from tests.agent_client.answers import CALLBACK_TOKEN, CLAUDE_KEY, key_answer, proxy_answer
from tests.agent_client.scripted_server import Answer

WORKSPACE = str(uuid.uuid4())


def environ_for(url, **extra):
    return {
        "SAM_CONTROL_PLANE_URL": url,
        "SAM_WORKSPACE_ID": WORKSPACE,
        "SAM_CALLBACK_TOKEN": CALLBACK_TOKEN,
        **extra,
    }


def usage_error(capsys, argv, environ):
    code = main(argv, environ)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert CALLBACK_TOKEN not in err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required"),
        (["env"], "--agent"),
        (["env", "--agent", "cursor"], "invalid choice"),
        (["launch", "--agent", "claude-code"], "invalid choice"),
        (["run", "--agent", "claude-code"], "needs a command after --"),
        (["env", "--agent", "claude-code", "--", "ls"], "takes no command"),
        (["env", "--agent", "claude-code", "--format", "yaml"], "invalid choice"),
        (["env", "--agent", "claude-code", "--tok", "x"], "unrecognized arguments"),
        (["sync", "--agent", "claude-code"], "sync is for agents that keep OAuth in a file"),
    ],
)
def test_bad_flags_exit_2(capsys, scripted, argv, message):
    err = usage_error(capsys, argv, environ_for(scripted.url))

    assert message in err
    assert scripted.received == []


@pytest.mark.parametrize(
    ("unset", "message"),
    [
        ("SAM_CONTROL_PLANE_URL", "no control plane URL"),
        ("SAM_WORKSPACE_ID", "no workspace"),
        ("SAM_CALLBACK_TOKEN", "no workspace token"),
    ],
)
def test_missing_configuration_exits_2(capsys, scripted, unset, message):
    environ = environ_for(scripted.url)
    del environ[unset]

    assert message in usage_error(capsys, ["env", "--agent", "claude-code"], environ)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SAM_WORKSPACE_ID": "ws-1"}, "not a UUID"),
        ({"SAM_CONTROL_PLANE_URL": "https://u:p@cp.test"}, "userinfo"),
        ({"SAM_CONTROL_PLANE_URL": "https://cp.test/?x=1"}, "query"),
        ({"SAM_CONTROL_PLANE_URL": "cp.test"}, "not an http or https URL"),
        ({"SAM_CALLBACK_TOKEN": "sam_cb_abc def"}, "spaces or control characters"),
        ({"SAM_CALLBACK_TOKEN": "sam_cb_abc\u00e9"}, "spaces or control characters"),
    ],
)
def test_bad_configuration_exits_2(capsys, scripted, changes, message):
    environ = {**environ_for(scripted.url), **changes}

    assert message in usage_error(capsys, ["env", "--agent", "claude-code"], environ)


@pytest.mark.parametrize(
    "argv",
    [
        ["env", "--agent", "claude-code", "--token", CALLBACK_TOKEN],
        ["env", "--agent", "claude-code", f"--token={CALLBACK_TOKEN}"],
        ["env", "--agent", "claude-code", "--workspace", CALLBACK_TOKEN],
        ["env", "--agent", "claude-code", "--token-file", CALLBACK_TOKEN],
        ["env", "--agent", "claude-code", "--control-plane", "sam_cb_" + "x" * 43],
    ],
)
def test_a_token_on_the_command_line_is_refused_without_being_echoed(capsys, scripted, argv):
    environ = environ_for(scripted.url)
    del environ["SAM_CALLBACK_TOKEN"]

    err = usage_error(capsys, argv, environ)

    assert "token" in err
    assert "sam_cb_" not in err
    assert scripted.received == []


def test_flags_beat_the_environment(capsys, scripted):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))
    other_workspace = str(uuid.uuid4())
    environ = environ_for("http://127.0.0.1:9")

    code = main(
        [
            "env",
            "--agent",
            "claude-code",
            "--control-plane",
            scripted.url,
            "--workspace",
            other_workspace,
        ],
        environ,
    )

    assert code == 0
    assert scripted.received[0].path == f"/api/workspaces/{other_workspace}/agent-key"


def test_the_token_file_is_read_and_beats_the_variable(capsys, scripted, tmp_path):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))
    token_file = tmp_path / "token"
    token_file.write_text("sam_cb_from_the_file_0000000000000000000000000\n")
    token_file.chmod(0o600)

    code = main(
        ["env", "--agent", "claude-code", "--token-file", str(token_file)],
        environ_for(scripted.url),
    )

    assert code == 0
    assert (
        scripted.received[0].headers["authorization"]
        == "Bearer sam_cb_from_the_file_0000000000000000000000000"
    )
    assert "warning" not in capsys.readouterr().err


def test_a_token_file_others_can_read_gets_a_warning(capsys, scripted, tmp_path):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))
    token_file = tmp_path / "token"
    token_file.write_text(CALLBACK_TOKEN)
    token_file.chmod(0o644)

    main(
        ["env", "--agent", "claude-code", "--token-file", str(token_file)],
        environ_for(scripted.url),
    )

    assert "can be read by other users" in capsys.readouterr().err


def test_an_unreadable_token_file_exits_2(capsys, scripted, tmp_path):
    err = usage_error(
        capsys,
        ["env", "--agent", "claude-code", "--token-file", str(tmp_path / "missing")],
        environ_for(scripted.url),
    )

    assert "cannot read the token file" in err


def test_plain_http_to_a_remote_control_plane_gets_a_warning(capsys):
    reporter = Reporter(Redactor())
    args = build_parser().parse_args(["env", "--agent", "claude-code"])

    config_resolve(args, environ_for("http://cp.example.com"), reporter)
    config_resolve(args, environ_for("http://127.0.0.1:8000"), reporter)

    assert capsys.readouterr().err.count("not https") == 1


def test_help_exits_0(capsys):
    assert main(["--help"], {}) == 0
    assert "env" in capsys.readouterr().out


def test_shell_output_can_be_evaluated_by_sh(capsys, scripted):
    scripted.answer(Answer(200, proxy_answer("opencode", scripted.url)))
    main(["env", "--agent", "opencode", "--format", "shell"], environ_for(scripted.url))
    out = capsys.readouterr().out

    seen = subprocess.run(
        ["sh", "-c", out + 'printf %s "$OPENCODE_CONFIG_CONTENT"'],
        env={"PATH": os.environ["PATH"], "OPENCODE_API_KEY": "stale"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert json.loads(seen)["provider"]["sam"]["options"]["apiKey"] == CALLBACK_TOKEN
    assert "unset OPENCODE_API_KEY\n" in out
    assert "SAM_CALLBACK_TOKEN" not in out


def test_dotenv_output_quotes_values_that_need_it(capsys, scripted):
    scripted.answer(Answer(200, proxy_answer("opencode", scripted.url)))
    main(["env", "--agent", "opencode", "--format", "dotenv"], environ_for(scripted.url))
    out = capsys.readouterr().out

    name, _, value = out.strip().partition("=")
    assert name == "OPENCODE_CONFIG_CONTENT"
    assert value[0] == value[-1] == "'"
    assert json.loads(value[1:-1])["model"] == "sam/gpt-4.1-mini"


def test_dotenv_output_double_quotes_a_value_holding_a_single_quote(capsys, scripted):
    scripted.answer(Answer(200, key_answer("it's-a-key-0000000000")))
    main(["env", "--agent", "mistral-vibe", "--format", "dotenv"], environ_for(scripted.url))

    assert capsys.readouterr().out == 'MISTRAL_API_KEY="it\'s-a-key-0000000000"\n'


def test_dotenv_output_leaves_plain_values_bare(capsys, scripted):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))
    main(["env", "--agent", "claude-code", "--format", "dotenv"], environ_for(scripted.url))

    assert capsys.readouterr().out == f"ANTHROPIC_API_KEY={CLAUDE_KEY}\n"


def test_json_output_is_one_object_of_the_variables(capsys, scripted):
    scripted.answer(Answer(200, proxy_answer("claude-code", scripted.url)))
    main(["env", "--agent", "claude-code", "--format", "json"], environ_for(scripted.url))

    assert json.loads(capsys.readouterr().out) == {
        "ANTHROPIC_BASE_URL": scripted.url + "/ai/anthropic",
        "ANTHROPIC_AUTH_TOKEN": CALLBACK_TOKEN,
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
    }


def test_a_command_whose_arguments_hold_the_key_is_refused(capsys, scripted):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))

    err = usage_error(
        capsys,
        ["run", "--agent", "claude-code", "--", "echo", CLAUDE_KEY],
        environ_for(scripted.url),
    )

    assert "hold a credential" in err
    assert CLAUDE_KEY not in err


def test_a_missing_command_exits_127(capsys, scripted):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))

    code = main(
        ["run", "--agent", "claude-code", "--", "/nonexistent/agent"], environ_for(scripted.url)
    )

    assert code == 127
    assert "command not found: /nonexistent/agent" in capsys.readouterr().err


def test_the_client_runs_as_a_module_with_only_the_standard_library(tmp_path):
    # -S: no site-packages at all, as on a bare VM; -m from the repository root.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-S", "-m", "agent_client", "--version"],
        cwd=root,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"
