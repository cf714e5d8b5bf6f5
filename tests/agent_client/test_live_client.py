"""The client as a VM runs it (`python -S -m agent_client`), against the live server."""

import hashlib
import json
import stat

import pytest

from audit.models import AuditEvent
from credentials.models import Credential
from tests.agent_client.answers import CODEX_AUTH, SENTINEL
from tests.agent_client.vm_client import agent_command
from tests.support import CLAUDE_KEY, CLAUDE_PROJECT_KEY, OPENAI_KEY, add_credential, make_workspace
from workspaces.models import TokenKind, WorkspaceStatus
from workspaces.tokens import token_authenticate, tokens_revoke

GEMINI_KEY = "AIza-alice-gemini-key-000000000000000000000000"
# Passed on unchanged: they hold no secret.
CLIENT_SETTINGS = {"SAM_CONTROL_PLANE_URL", "SAM_WORKSPACE_ID"}


def sha256(value):
    return hashlib.sha256(value.encode()).hexdigest()


def test_a_users_key_is_the_agents_key(vm, alice):
    add_credential("user", "claude-code", CLAUDE_KEY, owner=alice)

    run = vm("env", "--agent", "claude-code", "--format", "json")

    assert run.returncode == 0, run.stderr
    assert run.json() == {"ANTHROPIC_API_KEY": CLAUDE_KEY}
    assert "claude-code: api-key from the user scope" in run.stderr


def test_a_project_key_wins_over_the_users(vm, alice, project):
    add_credential("user", "claude-code", CLAUDE_KEY, owner=alice)
    add_credential("project", "claude-code", CLAUDE_PROJECT_KEY, project=project)

    run = vm("env", "--agent", "claude-code", "--format", "json")

    assert run.json() == {"ANTHROPIC_API_KEY": CLAUDE_PROJECT_KEY}


def test_a_gemini_key_goes_to_gemini_api_key(vm, alice):
    add_credential("user", "google-gemini", GEMINI_KEY, owner=alice)

    assert vm("env", "--agent", "google-gemini", "--format", "json").json() == {
        "GEMINI_API_KEY": GEMINI_KEY
    }


def test_in_callback_mode_claude_code_with_no_key_uses_the_callback_token_with_the_proxy(
    vm, live_url, ws, settings
):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    run = vm("env", "--agent", "claude-code", "--format", "json")

    assert run.returncode == 0, run.stderr
    assert run.json() == {
        "ANTHROPIC_BASE_URL": f"{live_url}/ai/anthropic",
        "ANTHROPIC_AUTH_TOKEN": ws.token,
        "ANTHROPIC_MODEL": "claude-sonnet-4-6",
    }
    assert SENTINEL not in run.stdout + run.stderr


def test_in_scoped_mode_the_agent_gets_a_proxy_token_of_its_workspace(vm, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "scoped"

    run = vm("env", "--agent", "claude-code", "--format", "json")

    token = run.json()["ANTHROPIC_AUTH_TOKEN"]
    assert token.startswith("sam_px_")
    minted = token_authenticate(token)
    assert minted.kind == TokenKind.PROXY
    assert minted.workspace_id == ws.workspace.pk
    assert ws.token not in run.stdout


def test_opencode_with_no_key_gets_an_inline_config_for_the_proxy(vm, live_url, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    run = vm("env", "--agent", "opencode", "--format", "json")

    config = json.loads(run.json()["OPENCODE_CONFIG_CONTENT"])
    assert config["model"] == "sam/gpt-4.1-mini"
    assert config["provider"]["sam"]["options"] == {
        "baseURL": f"{live_url}/ai/v1",
        "apiKey": ws.token,
    }
    assert SENTINEL not in run.stdout


def test_in_callback_mode_codex_gets_openai_variables_and_a_provider_in_config_toml(
    vm, live_url, ws, settings
):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    run = vm("run", "--agent", "openai-codex", "--", *agent_command("show_environment.py"))

    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)["env"]
    assert seen["OPENAI_API_KEY"]["sha256"] == sha256(ws.token)
    assert seen["OPENAI_BASE_URL"]["sha256"] == sha256(f"{live_url}/ai/v1")
    assert seen["OPENAI_MODEL"]["sha256"] == sha256("gpt-4.1")
    assert "SAM_CALLBACK_TOKEN" not in seen
    config = (vm.codex_home / "config.toml").read_text()
    assert 'model_provider = "sam-proxy"' in config
    assert f'base_url = "{live_url}/ai/v1"' in config
    assert 'env_key = "OPENAI_API_KEY"' in config
    assert 'wire_api = "responses"' in config
    assert ws.token not in config
    assert SENTINEL not in config


def test_codex_with_a_users_key_after_a_proxy_session_drops_the_provider_block(vm, alice):
    vm("run", "--agent", "openai-codex", "--", "true")
    assert "sam-proxy" in (vm.codex_home / "config.toml").read_text()
    add_credential("user", "openai-codex", OPENAI_KEY, owner=alice)

    run = vm("run", "--agent", "openai-codex", "--", *agent_command("show_environment.py"))

    assert json.loads(run.stdout)["env"]["OPENAI_API_KEY"]["sha256"] == sha256(OPENAI_KEY)
    assert "OPENAI_BASE_URL" not in json.loads(run.stdout)["env"]
    assert (vm.codex_home / "config.toml").read_text() == ""


def test_nothing_stored_for_gemini_exits_3(vm):
    run = vm("env", "--agent", "google-gemini")

    assert run.returncode == 3
    assert run.stdout == ""
    assert "no credential configured for google-gemini" in run.stderr


def test_with_the_proxy_disabled_claude_code_with_no_key_exits_3(vm, settings):
    settings.AI_PROXY_ENABLED = False

    assert vm("env", "--agent", "claude-code").returncode == 3


def test_a_revoked_token_exits_4(vm, ws):
    tokens_revoke(workspace=ws.workspace)

    run = vm("env", "--agent", "claude-code")

    assert run.returncode == 4
    assert run.stdout == ""
    assert "refused the workspace token (HTTP 401" in run.stderr


def test_a_stopped_workspace_exits_4(vm, ws):
    ws.workspace.status = WorkspaceStatus.STOPPED
    ws.workspace.save()

    assert vm("env", "--agent", "claude-code").returncode == 4


def test_another_workspaces_token_exits_4(vm, bob):
    bobs = make_workspace(bob)

    run = vm("env", "--agent", "claude-code", SAM_CALLBACK_TOKEN=bobs.token)

    assert run.returncode == 4
    assert "insufficient_scope" in run.stderr


def test_a_proxy_url_off_the_control_planes_origin_is_refused_and_nothing_is_printed(vm, settings):
    settings.AI_PROXY_PUBLIC_URL = "https://api.elsewhere.test"

    run = vm("env", "--agent", "claude-code", "--format", "json")

    assert run.returncode == 5
    assert run.stdout == ""
    assert "points at https://api.elsewhere.test, not at the control plane" in run.stderr


def test_run_passes_the_agents_exit_code_through(vm):
    run = vm(
        "run", "--agent", "claude-code", "--", *agent_command("show_environment.py", "--exit", "7")
    )

    assert run.returncode == 7
    assert json.loads(run.stdout)["env"]["ANTHROPIC_MODEL"]["length"] == len("claude-sonnet-4-6")


def test_run_hands_the_proxy_environment_to_the_agent_and_not_the_callback_variable(
    vm, live_url, ws, settings
):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    run = vm("run", "--agent", "claude-code", "--", *agent_command("show_environment.py"))

    seen = json.loads(run.stdout)["env"]
    assert set(seen) - CLIENT_SETTINGS == {
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_MODEL",
    }
    assert seen["ANTHROPIC_AUTH_TOKEN"]["sha256"] == sha256(ws.token)
    assert seen["ANTHROPIC_BASE_URL"]["sha256"] == sha256(f"{live_url}/ai/anthropic")


def test_run_drops_stale_credential_variables_of_the_vm(vm, alice):
    add_credential("user", "claude-code", CLAUDE_KEY, owner=alice)

    run = vm(
        "run",
        "--agent",
        "claude-code",
        "--",
        *agent_command("show_environment.py"),
        ANTHROPIC_BASE_URL="https://stale.example",
        ANTHROPIC_AUTH_TOKEN="stale",
    )

    assert set(json.loads(run.stdout)["env"]) - CLIENT_SETTINGS == {"ANTHROPIC_API_KEY"}


def test_with_an_env_file_the_secret_is_only_in_a_private_file_removed_afterwards(
    vm, ws, tmp_path, settings
):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    env_dir = tmp_path / "env-files"

    run = vm(
        "run",
        "--agent",
        "claude-code",
        "--env-file-dir",
        str(env_dir),
        "--",
        *agent_command("show_environment.py"),
    )

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert "ANTHROPIC_AUTH_TOKEN" not in report["env"]
    assert "ANTHROPIC_BASE_URL" in report["env"]
    env_file = report["env_file"]
    assert env_file["exists"]
    assert env_file["mode"] == "0o600"
    assert env_file["variables"]["ANTHROPIC_AUTH_TOKEN"]["sha256"] == sha256(ws.token)
    assert list(env_dir.iterdir()) == []


def test_a_codex_oauth_credential_is_written_to_auth_json_privately(vm, alice):
    add_credential("user", "openai-codex", CODEX_AUTH, owner=alice, kind="oauth-token")

    run = vm("run", "--agent", "openai-codex", "--", *agent_command("show_environment.py"))

    assert run.returncode == 0, run.stderr
    auth = vm.codex_home / "auth.json"
    assert auth.read_text() == CODEX_AUTH
    assert stat.S_IMODE(auth.stat().st_mode) == 0o600
    assert stat.S_IMODE(vm.codex_home.stat().st_mode) == 0o700
    assert "OPENAI_API_KEY" not in json.loads(run.stdout)["env"]


def stored_secret(owner):
    return Credential.objects.get(owner=owner, agent_type="openai-codex").reveal_secret()


def refreshed(document):
    data = json.loads(document)
    data["tokens"]["access_token"] += "-refreshed"
    data["last_refresh"] = "2026-06-01T00:00:00Z"
    return json.dumps(data, indent=2)


def test_a_codex_session_that_refreshes_its_tokens_syncs_them_back(vm, alice):
    add_credential("user", "openai-codex", CODEX_AUTH, owner=alice, kind="oauth-token")

    run = vm("run", "--agent", "openai-codex", "--", *agent_command("refresh_codex_auth.py"))

    assert run.returncode == 0, run.stderr
    assert stored_secret(alice) == refreshed(CODEX_AUTH)
    assert "Codex credential synced: updated" in run.stderr
    assert AuditEvent.objects.filter(action="synced").count() == 1


def test_sync_posts_a_changed_auth_json_through_the_endpoint(vm, alice):
    add_credential("user", "openai-codex", CODEX_AUTH, owner=alice, kind="oauth-token")
    assert vm("env", "--agent", "openai-codex", "--write-files").returncode == 0
    auth = vm.codex_home / "auth.json"
    auth.write_text(refreshed(CODEX_AUTH))

    run = vm("sync", "--agent", "openai-codex")

    assert run.returncode == 0, run.stderr
    assert stored_secret(alice) == refreshed(CODEX_AUTH)
    assert "updated on the control plane" in run.stderr


def test_sync_of_an_unchanged_auth_json_posts_nothing(vm, alice):
    add_credential("user", "openai-codex", CODEX_AUTH, owner=alice, kind="oauth-token")
    vm("env", "--agent", "openai-codex", "--write-files")

    run = vm("sync", "--agent", "openai-codex")

    assert run.returncode == 0
    assert "unchanged since it was delivered" in run.stderr
    assert not AuditEvent.objects.filter(action="synced").exists()


def test_sync_with_no_codex_oauth_credential_stored_exits_3(vm):
    vm.codex_home.mkdir(mode=0o700)
    (vm.codex_home / "auth.json").write_text(CODEX_AUTH)

    run = vm("sync", "--agent", "openai-codex")

    assert run.returncode == 3
    assert "no Codex OAuth credential" in run.stderr


def test_sync_without_auth_json_exits_5(vm):
    run = vm("sync", "--agent", "openai-codex")

    assert run.returncode == 5
    assert "nothing to sync" in run.stderr


@pytest.mark.parametrize("agent", ["claude-code", "openai-codex", "opencode"])
def test_every_eligible_agent_runs_with_zero_keys(vm, agent):
    run = vm("run", "--agent", agent, "--", *agent_command("show_environment.py"))

    assert run.returncode == 0, run.stderr
    assert SENTINEL not in run.stdout + run.stderr
