"""POST /api/workspaces/<id>/agent-key: every row of SPEC §7."""

import pytest

from audit.models import AuditAction, AuditEvent
from catalog.models import ModelCatalogEntry, ProxySettings
from credentials.models import Credential, Scope
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PLATFORM_KEY,
    CLAUDE_PROJECT_KEY,
    OPENAI_KEY,
    add_credential,
    make_workspace,
    post_json,
)
from workspaces.models import Task, TokenKind, WorkspaceToken
from workspaces.tokens import hash_token

pytestmark = pytest.mark.django_db

ELIGIBLE = [
    ("claude-code", "anthropic-proxy", "/ai/anthropic", "claude-sonnet-4-6"),
    ("openai-codex", "openai-proxy", "/ai/v1", "gpt-4.1"),
    ("opencode", "openai-compatible", "/ai/v1", "gpt-4.1-mini"),
]
USER_KEYS = {
    "claude-code": CLAUDE_KEY,
    "openai-codex": OPENAI_KEY,
    "opencode": "oc-alice-opencode-key-123456",
    "google-gemini": "AIza-alice-gemini-key-123456",
    "mistral-vibe": "mistral-alice-key-123456",
}


def agent_key(client, ws, agent_type):
    return post_json(client, ws.url(), {"agentType": agent_type}, ws.token)


@pytest.mark.parametrize(("agent_type", "provider", "path", "model"), ELIGIBLE)
def test_with_no_key_it_points_eligible_agents_at_the_platform_proxy_with_a_proxy_token(
    client, ws, agent_type, provider, path, model
):
    response = agent_key(client, ws, agent_type)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "apiKey": body["apiKey"],
        "credentialKind": "api-key",
        "credentialSource": "platform",
        "inferenceConfig": {
            "provider": provider,
            "baseURL": f"https://api.sam.test{path}",
            "model": model,
            "apiKeySource": "proxy-token",
        },
    }
    assert WorkspaceToken.objects.get(token_hash=hash_token(body["apiKey"])).kind == "proxy"


@pytest.mark.parametrize(("agent_type", "provider", "path", "model"), ELIGIBLE)
def test_in_callback_mode_with_no_key_the_vm_uses_its_callback_token_with_the_proxy(
    client, ws, settings, agent_type, provider, path, model
):
    settings.AI_PROXY_TOKEN_MODE = "callback"

    response = agent_key(client, ws, agent_type)

    assert response.status_code == 200
    assert response.json() == {
        "apiKey": "__platform_proxy__",
        "credentialKind": "api-key",
        "credentialSource": "platform",
        "inferenceConfig": {
            "provider": provider,
            "baseURL": f"https://api.sam.test{path}",
            "model": model,
            "apiKeySource": "callback-token",
        },
    }


@pytest.mark.parametrize("agent_type", list(USER_KEYS))
def test_it_returns_the_users_own_key_with_source_user(client, ws, alice, agent_type):
    add_credential(Scope.USER, agent_type, USER_KEYS[agent_type], owner=alice)

    response = agent_key(client, ws, agent_type)

    assert response.status_code == 200
    assert response.json() == {
        "apiKey": USER_KEYS[agent_type],
        "credentialKind": "api-key",
        "credentialSource": "user",
    }


def test_it_returns_an_oauth_token_with_its_kind(client, ws, alice):
    add_credential(
        Scope.USER, "claude-code", "sk-ant-oat01-alice-oauth-token", owner=alice, kind="oauth-token"
    )

    response = agent_key(client, ws, "claude-code")

    assert response.json() == {
        "apiKey": "sk-ant-oat01-alice-oauth-token",
        "credentialKind": "oauth-token",
        "credentialSource": "user",
    }


def test_it_returns_the_project_key_before_the_user_key(client, ws, alice, project):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)

    response = agent_key(client, ws, "claude-code")

    assert response.json()["apiKey"] == CLAUDE_PROJECT_KEY
    assert response.json()["credentialSource"] == "project"


def test_a_project_key_does_not_reach_workspaces_outside_the_project(client, alice, project):
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    elsewhere = make_workspace(alice, project=None)

    response = agent_key(client, elsewhere, "claude-code")

    assert response.json()["credentialSource"] == "platform"
    assert "inferenceConfig" in response.json()


def test_another_users_key_is_never_returned(client, bob, ws):
    add_credential(Scope.USER, "google-gemini", USER_KEYS["google-gemini"], owner=bob)

    response = agent_key(client, ws, "google-gemini")

    assert response.status_code == 404


def test_an_inactive_project_key_stops_resolution_before_the_users_key(client, ws, alice, project):
    add_credential(Scope.USER, "google-gemini", USER_KEYS["google-gemini"], owner=alice)
    add_credential(
        Scope.PROJECT,
        "google-gemini",
        "AIza-project-disabled-123456",
        project=project,
        active=False,
    )

    response = agent_key(client, ws, "google-gemini")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Agent credential not found"}


def test_an_inactive_project_key_leaves_eligible_agents_on_the_platform_proxy(
    client, ws, alice, project
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project, active=False)

    response = agent_key(client, ws, "claude-code")

    assert response.json()["apiKey"].startswith("sam_px_")
    assert response.json()["credentialSource"] == "platform"
    assert CLAUDE_KEY not in response.content.decode()


@pytest.mark.parametrize("agent_type", ["google-gemini", "mistral-vibe"])
def test_agents_the_proxy_cannot_serve_get_404_with_nothing_stored(client, ws, agent_type):
    response = agent_key(client, ws, agent_type)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Agent credential not found"}


def test_a_platform_key_is_not_handed_to_workspaces_by_default(client, ws):
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)

    response = agent_key(client, ws, "claude-code")

    assert response.json()["apiKey"].startswith("sam_px_")
    assert "inferenceConfig" in response.json()
    assert CLAUDE_PLATFORM_KEY not in response.content.decode()


def test_a_platform_key_is_not_handed_out_for_agents_the_proxy_cannot_serve(client, ws):
    add_credential(Scope.PLATFORM, "google-gemini", "AIza-platform-gemini-123456")

    response = agent_key(client, ws, "google-gemini")

    assert response.status_code == 404


def test_a_platform_key_is_handed_out_when_an_admin_opts_in(client, ws, settings):
    settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = True
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)

    response = agent_key(client, ws, "claude-code")

    assert response.json() == {
        "apiKey": CLAUDE_PLATFORM_KEY,
        "credentialKind": "api-key",
        "credentialSource": "platform",
    }


def test_the_users_key_still_beats_an_exposed_platform_key(client, ws, alice, settings):
    settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = True
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    assert agent_key(client, ws, "claude-code").json()["apiKey"] == CLAUDE_KEY


@pytest.mark.parametrize(("agent_type", "_p", "_path", "_m"), ELIGIBLE)
def test_with_the_proxy_disabled_in_the_environment_it_answers_404(
    client, ws, settings, agent_type, _p, _path, _m
):
    settings.AI_PROXY_ENABLED = False

    response = agent_key(client, ws, agent_type)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_an_admin_can_switch_the_proxy_off_over_the_environment(client, ws, settings):
    settings.AI_PROXY_ENABLED = True
    ProxySettings(enabled=False).save()

    assert agent_key(client, ws, "claude-code").status_code == 404


@pytest.mark.parametrize(
    ("setting", "agent_type"),
    [
        ("AI_PROXY_DEFAULT_ANTHROPIC_MODEL", "claude-code"),
        ("AI_PROXY_DEFAULT_OPENAI_MODEL", "openai-codex"),
        ("AI_PROXY_DEFAULT_MODEL", "opencode"),
    ],
)
def test_the_default_model_comes_from_the_environment(client, ws, settings, setting, agent_type):
    setattr(settings, setting, "model-from-env")

    response = agent_key(client, ws, agent_type)

    assert response.json()["inferenceConfig"]["model"] == "model-from-env"


def test_an_admin_default_model_beats_the_environment(client, ws, settings):
    settings.AI_PROXY_DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
    ProxySettings(default_model_claude_code="claude-opus-4-6").save()

    response = agent_key(client, ws, "claude-code")

    assert response.json()["inferenceConfig"]["model"] == "claude-opus-4-6"


def test_an_admin_default_that_left_the_catalog_is_ignored(client, ws, settings):
    settings.AI_PROXY_DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
    ProxySettings(default_model_claude_code="claude-opus-4-6").save()
    entry = ModelCatalogEntry.objects.get(id="claude-opus-4-6")
    entry.enabled = False
    entry.save()

    response = agent_key(client, ws, "claude-code")

    assert response.json()["inferenceConfig"]["model"] == "claude-haiku-4-5"


def test_the_base_url_comes_from_ai_proxy_public_url(client, ws, settings):
    settings.AI_PROXY_PUBLIC_URL = "https://proxy.example.org/"

    response = agent_key(client, ws, "openai-codex")

    assert response.json()["inferenceConfig"]["baseURL"] == "https://proxy.example.org/ai/v1"


def test_the_base_url_defaults_to_the_api_host_of_base_domain(client, ws, settings):
    settings.AI_PROXY_PUBLIC_URL = ""
    settings.BASE_DOMAIN = "sammy.example"

    response = agent_key(client, ws, "claude-code")

    assert response.json()["inferenceConfig"]["baseURL"] == "https://api.sammy.example/ai/anthropic"


@pytest.mark.parametrize(
    ("agent_type", "seconds"), [("claude-code", 3600), ("openai-codex", 3600), ("opencode", 43200)]
)
def test_in_scoped_mode_it_mints_a_proxy_only_token_living_as_long_as_the_agent_can_keep_it(
    client, ws, settings, agent_type, seconds
):
    settings.AI_PROXY_TOKEN_MODE = "scoped"

    response = agent_key(client, ws, agent_type)

    body = response.json()
    assert body["inferenceConfig"]["apiKeySource"] == "proxy-token"
    assert body["apiKey"].startswith("sam_px_")
    token = WorkspaceToken.objects.get(token_hash=hash_token(body["apiKey"]))
    assert token.kind == TokenKind.PROXY
    assert token.workspace_id == ws.workspace.pk
    lifetime = token.expires_at - token.created_at
    assert seconds - 10 <= lifetime.total_seconds() <= seconds + 10


def test_an_admin_can_choose_scoped_mode_over_the_environment(client, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    ProxySettings(token_mode="scoped").save()

    assert agent_key(client, ws, "opencode").json()["apiKey"].startswith("sam_px_")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("none", "proxy"),
        ("user", "user"),
        ("project", "project"),
        ("platform", "platform"),
    ],
)
def test_it_records_the_source_on_the_newest_task(
    client, ws, alice, project, settings, setup, expected
):
    settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = True
    if setup == "user":
        add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    elif setup == "project":
        add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    elif setup == "platform":
        add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    older = Task.objects.create(workspace=ws.workspace, title="older")
    newest = Task.objects.create(workspace=ws.workspace, title="newest")
    Task.objects.filter(pk=older.pk).update(created_at=newest.created_at.replace(year=2020))

    agent_key(client, ws, "claude-code")

    newest.refresh_from_db()
    older.refresh_from_db()
    assert newest.agent_credential_source == expected
    assert older.agent_credential_source is None


def test_no_task_is_touched_when_the_answer_is_404(client, ws):
    task = Task.objects.create(workspace=ws.workspace, title="t")

    agent_key(client, ws, "google-gemini")

    task.refresh_from_db()
    assert task.agent_credential_source is None


def test_a_served_secret_writes_an_audit_event_naming_the_workspace(client, ws, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    agent_key(client, ws, "claude-code")

    event = AuditEvent.objects.get(action=AuditAction.SERVED)
    assert (event.target_type, event.target_id) == ("credentials.credential", str(credential.pk))
    assert (event.actor_kind, event.actor_workspace_id) == ("workspace", ws.workspace.pk)
    assert (event.before, event.after, event.superusers_only) == (None, None, False)


def test_the_proxy_fallback_writes_no_served_event(client, ws):
    agent_key(client, ws, "claude-code")

    assert not AuditEvent.objects.filter(action=AuditAction.SERVED).exists()


def test_last_used_is_derived_from_served_events(client, ws, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    def last_used():
        row = Credential.objects.with_last_used().get(pk=credential.pk)
        return row.last_used_at  # type: ignore[attr-defined]  # an annotation

    assert last_used() is None
    agent_key(client, ws, "claude-code")
    assert last_used() is not None
