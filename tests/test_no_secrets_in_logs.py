"""No secret or token ever reaches a log line, whatever path a request takes."""

import json
import logging
from io import StringIO

import pytest
from django.core.management import call_command

from credentials.models import Scope
from sam_project.logs import JsonFormatter
from tests.support import CLAUDE_KEY, CLAUDE_PLATFORM_KEY, add_credential, post_json
from workspaces.models import TokenKind
from workspaces.tokens import token_mint

pytestmark = pytest.mark.django_db

CODEX_AUTH = json.dumps({"tokens": {"access_token": "codex-access-secret-4242"}})
CODEX_AUTH_NEW = json.dumps({"tokens": {"access_token": "codex-access-secret-9191"}})


def test_nothing_secret_is_logged_on_any_path(
    client, ws, bob_ws, alice, settings, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    secrets = [CLAUDE_KEY, CLAUDE_PLATFORM_KEY, ws.token, bob_ws.token, "codex-access-secret"]

    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    monkeypatch.setattr("sys.stdin", StringIO(CLAUDE_KEY + "\n"))
    call_command(
        "set_credential", scope="user", user="alice", agent="claude-code", stdout=StringIO()
    )
    add_credential(Scope.USER, "openai-codex", CODEX_AUTH, owner=alice, kind="oauth-token")

    url = ws.url()
    post_json(client, url, {"agentType": "claude-code"}, ws.token)  # user key served
    settings.AI_PROXY_TOKEN_MODE = "callback"
    post_json(client, url, {"agentType": "opencode"}, ws.token)  # proxy fallback
    settings.AI_PROXY_TOKEN_MODE = "scoped"
    scoped = post_json(client, url, {"agentType": "opencode"}, ws.token).json()["apiKey"]
    secrets.append(scoped)
    renewal = ws.url("proxy-token")
    renewed = post_json(client, renewal, {"agentType": "opencode"}, ws.token).json()["token"]
    secrets.append(renewed)
    post_json(client, renewal, {"agentType": "google-gemini"}, ws.token)  # 409
    settings.AI_PROXY_TOKEN_MINTS_PER_MINUTE = 1
    post_json(client, renewal, {"agentType": "opencode"}, ws.token)  # 429
    post_json(client, url, {"agentType": "claude-code"}, bob_ws.token)  # 403
    post_json(client, url, {"agentType": "claude-code"}, ws.token[:-1] + "Z")  # 401
    post_json(client, url, "{broken", ws.token)  # 400
    _token, proxy_token = token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)
    secrets.append(proxy_token)
    post_json(client, url, {"agentType": "claude-code"}, proxy_token)  # 403 wrong kind
    sync = {
        "agentType": "openai-codex",
        "credentialKind": "oauth-token",
        "credential": CODEX_AUTH_NEW,
    }
    post_json(client, ws.url("agent-credential-sync"), sync, ws.token)
    settings.CREDENTIAL_ENCRYPTION_KEYS = "k9:" + "9" * 64
    post_json(client, url, {"agentType": "claude-code"}, ws.token)  # 503 unreadable

    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert any("agent_key.resolved" in line for line in lines)
    assert any("proxy_token.minted" in line for line in lines)
    assert any("proxy_token.refused" in line for line in lines)
    assert any("credential.unreadable" in line for line in lines)
    for line in lines:
        for secret in secrets:
            assert secret not in line
