"""The agents renew their own proxy tokens (SPEC 22.2): `python -m agent_client token`, and
the hooks `run` and `env --write-files` set up — Claude Code's apiKeyHelper in settings.json,
Codex's command-backed provider auth in config.toml — none holding the callback token."""

import json
import os
import tomllib
from datetime import timedelta

from django.utils import timezone

from tests.agent_client.vm_client import agent_command
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import hash_token, token_authenticate, workspace_stop

HOOK_AGENT = {"claude-code": "claude", "openai-codex": "codex"}


def assert_proxy_token_of(token, ws):
    live = token_authenticate(token)
    assert (live.kind, live.workspace_id) == (TokenKind.PROXY, ws.workspace.pk)


def test_token_prints_a_fresh_proxy_token_and_nothing_else(vm, ws):
    first = vm("token", "--agent", "claude-code")
    second = vm("token", "--agent", "claude-code")

    assert first.returncode == 0, first.stderr
    token = first.stdout.removesuffix("\n")
    assert first.stdout == token + "\n"
    assert "\n" not in token
    assert_proxy_token_of(token, ws)
    assert second.stdout != first.stdout
    assert first.stderr == ""
    assert ws.token not in first.stdout


def test_token_reads_the_callback_token_from_a_file(vm, ws, tmp_path):
    path = tmp_path / "callback-token"
    path.write_text(ws.token + "\n")
    path.chmod(0o600)

    run = vm("token", "--agent", "openai-codex", "--token-file", str(path), SAM_CALLBACK_TOKEN="")

    assert run.returncode == 0, run.stderr
    assert_proxy_token_of(run.stdout.strip(), ws)


def test_token_for_an_agent_off_the_proxy_fails_with_a_message_and_no_output(vm):
    run = vm("token", "--agent", "google-gemini")

    assert run.returncode == 3
    assert run.stdout == ""
    assert "does not use the platform AI proxy" in run.stderr
    assert "not_on_proxy" in run.stderr


def test_token_of_a_stopped_workspace_fails_as_refused(vm, ws):
    workspace_stop(workspace=ws.workspace)

    run = vm("token", "--agent", "claude-code")

    assert run.returncode == 4
    assert run.stdout == ""
    assert ws.token not in run.stderr


def test_token_never_takes_the_token_on_its_command_line(vm, ws):
    run = vm("token", "--agent", "claude-code", "--token", ws.token)

    assert run.returncode == 2
    assert run.stdout == ""


def run_hook(vm, agent_type, **env):
    run = vm(
        "run",
        "--agent",
        agent_type,
        "--",
        *agent_command("run_token_hook.py", HOOK_AGENT[agent_type]),
        CLAUDE_CONFIG_DIR=str(vm.home / ".claude"),
        CODEX_HOME=str(vm.codex_home),
        **env,
    )
    assert run.returncode == 0, run.stderr
    return run, run.json()


def test_run_gives_claude_code_an_api_key_helper_and_no_token(vm, ws, live_url, settings):
    settings.AI_PROXY_TOKEN_TTL = 600

    run, seen = run_hook(vm, "claude-code")

    assert seen["returncodes"] == [0, 0], seen["stderr"]
    tokens = [out.strip() for out in seen["stdout"]]
    assert len(set(tokens)) == 2
    for token in tokens:
        assert_proxy_token_of(token, ws)
    helper = json.loads(seen["config"])["apiKeyHelper"]
    assert " -m agent_client token --agent claude-code " in helper
    assert seen["env"]["ANTHROPIC_BASE_URL"] == f"{live_url}/ai/anthropic"
    assert "ANTHROPIC_AUTH_TOKEN" not in seen["env"]
    assert "ANTHROPIC_API_KEY" not in seen["env"]
    assert "SAM_CALLBACK_TOKEN" not in seen["env"]
    assert 1000 <= int(seen["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"]) <= 300_000
    assert ws.token not in seen["config"]
    assert ws.token not in run.stdout + run.stderr


def test_run_restores_claude_codes_settings_json_after_the_agent_exits(vm):
    directory = vm.home / ".claude"
    directory.mkdir()
    before = '{"theme": "dark", "apiKeyHelper": "/usr/local/bin/their-helper"}\n'
    (directory / "settings.json").write_text(before)

    _run, seen = run_hook(vm, "claude-code")

    during = json.loads(seen["config"])
    assert during["theme"] == "dark"
    assert "agent_client token" in during["apiKeyHelper"]
    assert (directory / "settings.json").read_text() == before


def test_run_removes_the_settings_json_it_created(vm):
    run_hook(vm, "claude-code")

    assert not (vm.home / ".claude" / "settings.json").exists()


def test_the_callback_token_copy_for_the_hook_is_private_and_removed(vm, ws):
    _run, seen = run_hook(vm, "claude-code")

    helper = json.loads(seen["config"])["apiKeyHelper"]
    path = helper.split("--token-file ")[1].split()[0]
    assert not os.path.exists(path)


def test_run_gives_codex_a_command_backed_provider_auth_and_no_key(vm, ws, settings):
    settings.AI_PROXY_TOKEN_TTL = 600

    _run, seen = run_hook(vm, "openai-codex")

    assert seen["returncodes"] == [0, 0], seen["stderr"]
    for token in seen["stdout"]:
        assert_proxy_token_of(token.strip(), ws)
    provider = tomllib.loads(seen["config"])["model_providers"]["sam-proxy"]
    assert "env_key" not in provider
    auth = provider["auth"]
    assert auth["args"][:4] == ["-m", "agent_client", "token", "--agent"]
    assert 1000 <= auth["refresh_interval_ms"] <= 300_000
    assert "OPENAI_API_KEY" not in seen["env"]
    assert "SAM_CALLBACK_TOKEN" not in seen["env"]
    assert ws.token not in seen["config"]
    assert ws.token not in (vm.codex_home / "config.toml").read_text()


def test_run_with_a_token_file_passes_it_to_the_hook(vm, ws, tmp_path):
    path = tmp_path / "callback-token"
    path.write_text(ws.token)
    path.chmod(0o600)

    run = vm(
        "run",
        "--agent",
        "claude-code",
        "--token-file",
        str(path),
        "--",
        *agent_command("run_token_hook.py", "claude"),
        CLAUDE_CONFIG_DIR=str(vm.home / ".claude"),
        SAM_CALLBACK_TOKEN="",
    )

    assert run.returncode == 0, run.stderr
    seen = run.json()
    assert f"--token-file {path}" in json.loads(seen["config"])["apiKeyHelper"]
    assert seen["returncodes"] == [0, 0], seen["stderr"]
    assert path.exists()


def test_in_callback_mode_there_is_no_hook_the_callback_token_is_the_key(vm, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"

    run = vm("env", "--agent", "claude-code", "--format", "json", "--write-files")

    assert run.json()["ANTHROPIC_AUTH_TOKEN"] == ws.token
    assert not (vm.home / ".claude" / "settings.json").exists()


def test_env_without_write_files_hands_out_one_token_and_says_it_is_not_renewed(vm, ws):
    run = vm("env", "--agent", "claude-code", "--format", "json")

    assert_proxy_token_of(run.json()["ANTHROPIC_AUTH_TOKEN"], ws)
    assert "not renewed" in run.stderr


def test_env_write_files_leaves_the_hook_in_settings_json(vm, ws):
    run = vm(
        "env",
        "--agent",
        "claude-code",
        "--format",
        "json",
        "--write-files",
        CLAUDE_CONFIG_DIR=str(vm.home / ".claude"),
    )

    assert run.returncode == 0, run.stderr
    env = run.json()
    assert "ANTHROPIC_AUTH_TOKEN" not in env
    assert "CLAUDE_CODE_API_KEY_HELPER_TTL_MS" in env
    settings_json = (vm.home / ".claude" / "settings.json").read_text()
    assert "agent_client token --agent claude-code" in json.loads(settings_json)["apiKeyHelper"]
    assert ws.token not in settings_json


def test_opencode_which_has_no_hook_gets_one_token_of_the_static_ttl(vm, ws, settings):
    settings.AI_PROXY_STATIC_TOKEN_TTL = 7200

    run = vm("env", "--agent", "opencode", "--format", "json")

    config = json.loads(run.json()["OPENCODE_CONFIG_CONTENT"])
    token = config["provider"]["sam"]["options"]["apiKey"]
    assert_proxy_token_of(token, ws)
    row = WorkspaceToken.objects.get(token_hash=hash_token(token))
    assert timedelta(seconds=7190) < row.expires_at - timezone.now() <= timedelta(seconds=7200)
