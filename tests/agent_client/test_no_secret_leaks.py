"""Everything the client printed and wrote, searched for the token, the keys and the placeholder.

`env` prints values on request, so its stdout is the one place they may appear; everywhere
else — stderr of every command (verbose), what `run` and `sync` print, every file left in
the VM's home, the env file directory, the agent's view of its parent's command line — must
hold none of them. auth.json is where Codex's OAuth credential belongs, and only it.
"""

import json
import re

from tests.agent_client.answers import CODEX_AUTH, SENTINEL
from tests.agent_client.vm_client import agent_command
from tests.support import add_credential
from workspaces.tokens import tokens_revoke

GEMINI_KEY = "AIza-alice-gemini-key-000000000000000000000000"
WORKSPACE_TOKEN = re.compile(r"sam_(?:cb|px)_[A-Za-z0-9_-]{20,}")


def test_nothing_the_client_prints_or_leaves_behind_holds_a_secret(
    vm, alice, ws, settings, tmp_path
):
    add_credential("user", "openai-codex", CODEX_AUTH, owner=alice, kind="oauth-token")
    add_credential("user", "google-gemini", GEMINI_KEY, owner=alice)
    env_dir = vm.home / "env-files"
    show = agent_command("show_environment.py")
    runs = [
        vm("run", "--verbose", "--agent", "claude-code", "--", *show),
        vm("run", "-v", "--agent", "claude-code", "--env-file-dir", str(env_dir), "--", *show),
        vm("run", "-v", "--agent", "opencode", "--", *show),
        vm("run", "-v", "--agent", "google-gemini", "--", *show),
        vm("run", "-v", "--agent", "openai-codex", "--", *agent_command("refresh_codex_auth.py")),
        vm("sync", "-v", "--force", "--agent", "openai-codex"),
        vm("run", "-v", "--agent", "mistral-vibe", "--", *show),
    ]
    printed_by_env = vm("env", "-v", "--agent", "claude-code", "--format", "json")
    settings.AI_PROXY_TOKEN_MODE = "scoped"
    runs.append(vm("run", "-v", "--agent", "claude-code", "--", *show))
    settings.AI_PROXY_PUBLIC_URL = "https://api.elsewhere.test"
    runs.append(vm("run", "-v", "--agent", "opencode", "--", *show))
    tokens_revoke(workspace=ws.workspace)
    runs.append(vm("run", "-v", "--agent", "claude-code", "--", *show))

    assert [run.returncode for run in runs] == [0, 0, 0, 0, 0, 0, 3, 0, 5, 4]
    refreshed_access = json.loads(CODEX_AUTH)["tokens"]["access_token"] + "-refreshed"
    secrets = [ws.token, GEMINI_KEY, SENTINEL, refreshed_access]
    secrets += [value for value in json.loads(CODEX_AUTH)["tokens"].values() if len(value) > 16]

    printed = "".join(run.stdout + run.stderr for run in runs) + printed_by_env.stderr
    assert not WORKSPACE_TOKEN.search(printed)
    assert not any(secret in printed for secret in secrets)

    files = vm.written_files()
    auth = vm.codex_home / "auth.json"
    assert auth in files
    for path, content in files.items():
        text = content.decode(errors="replace")
        assert not WORKSPACE_TOKEN.search(text), path
        if path != auth:
            assert not any(secret in text for secret in secrets), path
    assert list(env_dir.iterdir()) == []


def test_the_agent_sees_no_secret_on_its_parents_command_line(vm, ws):
    run = vm("run", "--agent", "claude-code", "--", *agent_command("show_environment.py"))

    parent = json.loads(run.stdout)["parent_cmdline"]
    assert parent[:4] == [parent[0], "-S", "-m", "agent_client"]
    assert not any(ws.token in arg for arg in parent)
