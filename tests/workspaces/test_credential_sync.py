"""POST /api/workspaces/<id>/agent-credential-sync (SPEC §8)."""

import json

import pytest

from audit.models import AuditAction, AuditEvent
from credentials.models import Credential, Scope
from tests.support import CLAUDE_KEY, add_credential, post_json

pytestmark = pytest.mark.django_db


def auth_json(access_token):
    return json.dumps(
        {"tokens": {"access_token": access_token, "refresh_token": "r-" + access_token}}
    )


OLD = auth_json("old-access-token-1234")
NEW = auth_json("new-access-token-5678")


def sync(client, ws, credential, agent_type="openai-codex", kind="oauth-token"):
    body = {"agentType": agent_type, "credentialKind": kind, "credential": credential}
    return post_json(client, ws.url("agent-credential-sync"), body, ws.token)


@pytest.fixture
def user_codex(alice):
    return add_credential(Scope.USER, "openai-codex", OLD, owner=alice, kind="oauth-token")


def test_a_changed_auth_file_is_stored_and_audited(client, ws, user_codex):
    response = sync(client, ws, NEW)

    assert response.status_code == 200
    assert response.json() == {"success": True, "updated": True}
    user_codex.refresh_from_db()
    assert user_codex.reveal_secret() == NEW
    assert user_codex.last4 == "5678"
    event = AuditEvent.objects.get(action=AuditAction.SYNCED)
    assert (event.target_type, event.target_id) == ("credentials.credential", str(user_codex.pk))
    assert (event.actor_kind, event.actor_workspace_id) == ("workspace", ws.workspace.pk)
    assert (event.before["hint"], event.after["hint"], event.after["secret"]) == (
        "…1234",
        "…5678",
        "changed",
    )


def test_an_unchanged_auth_file_is_not_rewritten(client, ws, user_codex):
    before = Credential.objects.get(pk=user_codex.pk).secret

    response = sync(client, ws, OLD)

    assert response.json() == {"success": True, "updated": False}
    assert Credential.objects.get(pk=user_codex.pk).secret == before
    assert not AuditEvent.objects.filter(action=AuditAction.SYNCED).exists()


def test_the_active_project_row_is_updated_before_the_users(client, ws, alice, project, user_codex):
    project_row = add_credential(
        Scope.PROJECT, "openai-codex", OLD, project=project, kind="oauth-token"
    )

    sync(client, ws, NEW)

    project_row.refresh_from_db()
    user_codex.refresh_from_db()
    assert project_row.reveal_secret() == NEW
    assert user_codex.reveal_secret() == OLD


def test_an_inactive_project_row_stops_the_sync_before_the_users(client, ws, project, user_codex):
    add_credential(
        Scope.PROJECT, "openai-codex", OLD, project=project, kind="oauth-token", active=False
    )

    response = sync(client, ws, NEW)

    assert response.json() == {"success": False, "reason": "credential_not_found"}
    user_codex.refresh_from_db()
    assert user_codex.reveal_secret() == OLD


def test_with_nothing_stored_it_says_credential_not_found(client, ws):
    response = sync(client, ws, NEW)

    assert response.status_code == 200
    assert response.json() == {"success": False, "reason": "credential_not_found"}


def test_a_row_of_another_kind_is_not_a_match(client, ws, alice):
    add_credential(Scope.USER, "openai-codex", "sk-proj-alice-key-000000001234", owner=alice)

    response = sync(client, ws, NEW)

    assert response.json() == {"success": False, "reason": "credential_not_found"}


def test_platform_rows_are_never_touched(client, ws, settings):
    settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = True
    platform = add_credential(Scope.PLATFORM, "openai-codex", OLD, kind="oauth-token")

    response = sync(client, ws, NEW)

    assert response.json() == {"success": False, "reason": "credential_not_found"}
    platform.refresh_from_db()
    assert platform.reveal_secret() == OLD


def test_another_users_row_is_never_touched(client, bob_ws, user_codex):
    response = sync(client, bob_ws, NEW)

    assert response.json() == {"success": False, "reason": "credential_not_found"}
    user_codex.refresh_from_db()
    assert user_codex.reveal_secret() == OLD


def test_the_platform_proxy_sentinel_is_refused(client, ws, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    response = sync(client, ws, "__platform_proxy__", agent_type="claude-code", kind="api-key")

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert Credential.objects.get().reveal_secret() == CLAUDE_KEY


@pytest.mark.parametrize(
    "credential",
    ['{"tokens": {}}', "not json", '{"tokens": {"access_token": "  "}}', "[1]"],
)
def test_a_codex_auth_file_without_an_access_token_is_refused(client, ws, user_codex, credential):
    response = sync(client, ws, credential)

    assert response.status_code == 400
    assert response.json()["message"].startswith("credential: ")
    user_codex.refresh_from_db()
    assert user_codex.reveal_secret() == OLD


@pytest.mark.parametrize(
    "body",
    [
        {"credentialKind": "oauth-token", "credential": NEW},
        {"agentType": "openai-codex", "credential": NEW},
        {"agentType": "openai-codex", "credentialKind": "oauth-token"},
        {"agentType": "openai-codex", "credentialKind": "password", "credential": NEW},
        {"agentType": "cursor", "credentialKind": "oauth-token", "credential": NEW},
    ],
)
def test_every_field_is_required_and_checked(client, ws, user_codex, body):
    response = post_json(client, ws.url("agent-credential-sync"), body, ws.token)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("credential", 123456789012),
        ("credential", 1.5),
        ("credential", True),
        ("credential", ["sk-new-openai-key-123456"]),
        ("credentialKind", 1),
        ("agentType", 7),
    ],
)
def test_a_field_that_is_not_a_string_is_refused_not_coerced(client, ws, alice, field, value):
    row = add_credential(Scope.USER, "openai-codex", "sk-old-openai-key-123456", owner=alice)
    body = {"agentType": "openai-codex", "credentialKind": "api-key", "credential": "sk-new-1234"}

    response = post_json(client, ws.url("agent-credential-sync"), {**body, field: value}, ws.token)

    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": f"{field}: Not a valid string."}
    row.refresh_from_db()
    assert row.reveal_secret() == "sk-old-openai-key-123456"


def test_a_body_over_64_kib_is_413_whatever_the_header_says(client, ws, user_codex):
    big = json.dumps(
        {"agentType": "openai-codex", "credentialKind": "oauth-token", "credential": "x" * 70_000}
    )

    response = post_json(client, ws.url("agent-credential-sync"), big, ws.token)

    assert response.status_code == 413
    user_codex.refresh_from_db()
    assert user_codex.reveal_secret() == OLD


def test_a_body_just_under_64_kib_is_read(client, ws, user_codex):
    padded = json.dumps({"tokens": {"access_token": "new-access-token-5678"}, "pad": "p" * 60_000})

    response = sync(client, ws, padded)

    assert response.json() == {"success": True, "updated": True}


def test_sync_requires_the_workspaces_callback_token(client, ws, bob_ws, user_codex):
    assert sync(client, bob_ws.__class__(ws.workspace, bob_ws.token), NEW).status_code == 403
    body = {"agentType": "openai-codex", "credentialKind": "oauth-token", "credential": NEW}
    assert post_json(client, ws.url("agent-credential-sync"), body).status_code == 401
