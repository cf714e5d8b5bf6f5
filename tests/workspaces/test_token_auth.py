"""Workspace-token authentication (SPEC §6), and its precedence over body validation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support import make_workspace, post_json
from workspaces.models import TokenKind, WorkspaceStatus, WorkspaceToken
from workspaces.tokens import token_mint, workspace_stop

pytestmark = pytest.mark.django_db

GOOD_BODY = {"agentType": "claude-code"}


def assert_401(response, code):
    assert response.status_code == 401
    assert response.json()["error"] == code
    assert response["WWW-Authenticate"].startswith('Bearer realm="sam"')


def test_no_authorization_header_is_401(client, ws):
    response = post_json(client, ws.url(), GOOD_BODY)

    assert_401(response, "unauthorized")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "sam_cb_x"])
def test_a_malformed_authorization_header_is_401(client, ws, header):
    response = client.post(
        ws.url(), GOOD_BODY, content_type="application/json", headers={"Authorization": header}
    )

    assert_401(response, "invalid_token")


def test_an_unknown_token_is_401(client, ws):
    response = post_json(client, ws.url(), GOOD_BODY, "sam_cb_" + "x" * 43)

    assert_401(response, "invalid_token")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_an_expired_token_is_401(client, ws):
    WorkspaceToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = post_json(client, ws.url(), GOOD_BODY, ws.token)

    assert_401(response, "invalid_token")
    assert response.json()["message"] == "This token has expired."


def test_a_revoked_token_is_401(client, ws):
    WorkspaceToken.objects.update(revoked_at=timezone.now())

    response = post_json(client, ws.url(), GOOD_BODY, ws.token)

    assert_401(response, "invalid_token")
    assert response.json()["message"] == "This token has been revoked."


@pytest.mark.parametrize("status", [WorkspaceStatus.STOPPED, WorkspaceStatus.DELETED])
def test_a_workspace_that_is_not_running_is_refused_at_once(client, ws, status):
    ws.workspace.status = status
    ws.workspace.save()

    response = post_json(client, ws.url(), GOOD_BODY, ws.token)

    assert_401(response, "invalid_token")


def test_stopping_a_workspace_revokes_its_tokens(client, ws):
    revoked = workspace_stop(workspace=ws.workspace)

    assert revoked == 1
    assert WorkspaceToken.objects.get().revoked_at is not None
    assert post_json(client, ws.url(), GOOD_BODY, ws.token).status_code == 401


def test_a_token_of_another_workspace_is_403(client, ws, bob_ws):
    response = post_json(client, ws.url(), GOOD_BODY, bob_ws.token)

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_a_token_of_another_workspace_of_the_same_user_is_403(client, ws, alice):
    other = make_workspace(alice)

    assert post_json(client, ws.url(), GOOD_BODY, other.token).status_code == 403


def test_a_malformed_workspace_id_with_a_valid_token_is_403_not_a_leak(client, ws):
    response = post_json(client, "/api/workspaces/not-a-uuid/agent-key", GOOD_BODY, ws.token)

    assert response.status_code == 403


def test_a_proxy_token_cannot_call_the_workspace_api(client, ws):
    _token, proxy_token = token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)

    response = post_json(client, ws.url(), GOOD_BODY, proxy_token)

    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "message": "A proxy token can only call the AI proxy.",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "JSON parse error"),
        ("[1, 2]", "Invalid data. Expected a dictionary, but got list."),
        ('"claude-code"', "Invalid data. Expected a dictionary, but got str."),
        ("{}", "agentType: This field is required."),
        ('{"agentType": "cursor"}', "agentType: Unknown agent type."),
        ('{"agentType": 7}', "agentType: Not a valid string."),
        ('{"agentType": ["claude-code"]}', "agentType: Not a valid string."),
    ],
)
def test_bad_bodies_are_400_with_a_message(client, ws, body, message):
    response = post_json(client, ws.url(), body, ws.token)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["message"].startswith(message)


def test_the_unknown_agent_message_lists_the_known_agents(client, ws):
    response = post_json(client, ws.url(), {"agentType": "cursor"}, ws.token)

    message = response.json()["message"]
    for agent in ("claude-code", "openai-codex", "opencode", "google-gemini", "mistral-vibe"):
        assert agent in message


def test_other_keys_in_the_body_are_ignored(client, ws):
    response = post_json(client, ws.url(), {"agentType": "claude-code", "extra": [1]}, ws.token)

    assert response.status_code == 200


def test_a_body_over_16_kib_is_413(client, ws):
    body = '{"agentType": "claude-code", "pad": "' + "x" * 17000 + '"}'

    response = post_json(client, ws.url(), body, ws.token)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


@pytest.mark.parametrize("body", ["{not json", "[1]", '{"agentType": "cursor"}'])
def test_authentication_comes_before_body_validation(client, ws, body):
    assert post_json(client, ws.url(), body).status_code == 401
    assert post_json(client, ws.url(), body, "sam_cb_" + "y" * 43).status_code == 401


def test_scope_comes_before_body_validation(client, ws, bob_ws):
    assert post_json(client, ws.url(), "{not json", bob_ws.token).status_code == 403


def test_get_is_not_allowed(client, ws):
    response = client.get(ws.url(), headers=ws.headers)

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
