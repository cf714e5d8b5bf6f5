"""POST /api/workspaces/<id>/proxy-token: a fresh proxy token for an agent that renews its
own (SPEC 22.2) — who may ask, for which agent, how long it lives, how often."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from catalog.config import stored_config
from catalog.models import ProxySettings
from credentials.models import Scope
from tests.support import CLAUDE_KEY, add_credential, make_workspace, post_json
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import TokenRejected, hash_token, token_authenticate, workspace_stop

pytestmark = pytest.mark.django_db


def proxy_token(client, ws, agent_type="claude-code", token=None):
    return post_json(
        client,
        ws.url("proxy-token"),
        {"agentType": agent_type},
        ws.token if token is None else token,
    )


def minted(body):
    return WorkspaceToken.objects.get(token_hash=hash_token(body["token"]))


def expires_in(body) -> timedelta:
    return datetime.fromisoformat(body["expiresAt"]) - timezone.now()


@pytest.mark.parametrize("agent_type", ["claude-code", "openai-codex"])
def test_it_mints_a_proxy_token_of_the_short_ttl_for_an_agent_that_renews_its_own(
    client, ws, settings, agent_type
):
    settings.AI_PROXY_TOKEN_TTL = 600

    response = proxy_token(client, ws, agent_type)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiresAt"}
    assert body["token"].startswith("sam_px_")
    assert timedelta(seconds=590) < expires_in(body) <= timedelta(seconds=600)
    row = minted(body)
    assert (row.kind, row.workspace_id) == (TokenKind.PROXY, ws.workspace.pk)
    assert row.expires_at == datetime.fromisoformat(body["expiresAt"])


def test_opencode_which_cannot_renew_gets_the_static_ttl(client, ws, settings):
    settings.AI_PROXY_TOKEN_TTL = 600
    settings.AI_PROXY_STATIC_TOKEN_TTL = 7200

    body = proxy_token(client, ws, "opencode").json()

    assert timedelta(seconds=7190) < expires_in(body) <= timedelta(seconds=7200)


def test_each_call_mints_a_new_token_stored_only_as_its_hash(client, ws):
    first = proxy_token(client, ws).json()
    second = proxy_token(client, ws).json()

    assert first["token"] != second["token"]
    assert WorkspaceToken.objects.filter(kind=TokenKind.PROXY).count() == 2
    stored = list(WorkspaceToken.objects.values_list("token_hash", "prefix"))
    assert all(first["token"] not in value for row in stored for value in row)


def test_the_token_authenticates_as_a_proxy_token_of_the_workspace(client, ws):
    body = proxy_token(client, ws).json()

    live = token_authenticate(body["token"])

    assert (live.kind, live.workspace_id) == (TokenKind.PROXY, ws.workspace.pk)


def test_it_mints_in_callback_mode_too(client, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"

    response = proxy_token(client, ws)

    assert response.status_code == 200
    assert minted(response.json()).kind == TokenKind.PROXY


def test_the_token_dies_with_its_workspace(client, ws):
    body = proxy_token(client, ws).json()

    workspace_stop(workspace=ws.workspace)

    assert minted(body).revoked_at is not None
    assert proxy_token(client, ws).status_code == 401


def test_an_expired_minted_token_no_longer_authenticates(client, ws, settings):
    body = proxy_token(client, ws).json()
    WorkspaceToken.objects.filter(pk=minted(body).pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(TokenRejected, match="expired"):
        token_authenticate(body["token"])


@pytest.mark.parametrize("agent_type", ["google-gemini", "mistral-vibe"])
def test_an_agent_the_proxy_cannot_serve_is_409_not_on_proxy(client, ws, agent_type):
    response = proxy_token(client, ws, agent_type)

    assert response.status_code == 409
    assert response.json()["error"] == "not_on_proxy"
    assert not WorkspaceToken.objects.filter(kind=TokenKind.PROXY).exists()


def test_an_agent_that_gets_the_users_own_key_directly_gets_no_proxy_token(client, ws, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    response = proxy_token(client, ws)

    assert response.status_code == 409
    assert response.json()["error"] == "not_on_proxy"


def test_an_own_key_kept_here_by_proxy_delivery_gets_a_proxy_token(client, ws, alice, settings):
    settings.CREDENTIAL_DELIVERY = "proxy"
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    response = proxy_token(client, ws)

    assert response.status_code == 200
    assert CLAUDE_KEY not in response.content.decode()


def test_with_the_proxy_off_there_is_no_proxy_token(client, ws):
    ProxySettings.objects.create(enabled=False)

    response = proxy_token(client, ws)

    assert response.status_code == 409
    assert response.json()["error"] == "not_on_proxy"


def test_without_a_token_it_is_401_and_nothing_is_minted(client, ws):
    response = post_json(client, ws.url("proxy-token"), {"agentType": "claude-code"})

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert not WorkspaceToken.objects.filter(kind=TokenKind.PROXY).exists()


def test_a_token_of_another_workspace_is_403(client, ws, bob_ws):
    response = proxy_token(client, ws, token=bob_ws.token)

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert not WorkspaceToken.objects.filter(kind=TokenKind.PROXY).exists()


def test_a_proxy_token_cannot_renew_itself(client, ws):
    body = proxy_token(client, ws).json()

    response = proxy_token(client, ws, token=body["token"])

    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "JSON parse error"),
        ("[1, 2]", "Expected a dictionary"),
        ({}, "agentType: This field is required."),
        ({"agentType": 5}, "agentType: Not a valid string."),
        ({"agentType": "vim"}, "agentType: Unknown agent type."),
    ],
)
def test_bad_bodies_are_json_400(client, ws, body, message):
    response = post_json(client, ws.url("proxy-token"), body, ws.token)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert message in response.json()["message"]


def test_it_is_rate_limited_per_workspace_with_retry_after(client, ws, alice, settings):
    settings.AI_PROXY_TOKEN_MINTS_PER_MINUTE = 3
    for _ in range(3):
        assert proxy_token(client, ws).status_code == 200

    refused = proxy_token(client, ws)

    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert WorkspaceToken.objects.filter(kind=TokenKind.PROXY).count() == 3
    other = make_workspace(alice)
    assert proxy_token(client, other).status_code == 200


def test_a_renewal_costs_three_queries(client, ws, django_assert_max_num_queries):
    stored_config()

    with django_assert_max_num_queries(3):  # the token, the resolution, the new token
        response = proxy_token(client, ws)

    assert response.status_code == 200


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/workspaces/{workspace_id}/proxy-token"]["post"]
    assert operation["operationId"] == "proxy_token"
    assert {"200", "400", "401", "403", "409", "429"} <= set(operation["responses"])
    answer = schema["components"]["schemas"]["ProxyTokenResponse"]
    assert set(answer["required"]) == {"token", "expiresAt"}
