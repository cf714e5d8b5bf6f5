"""Who may call the proxy: the kill switch first, then the workspace token (SPEC §6, §9)."""

import time
from datetime import timedelta

import anthropic
import httpx
import openai
import pytest
from django.utils import timezone

from catalog.models import ProxySettings
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy
from tests.support import make_workspace
from workspaces.models import TokenKind, WorkspaceStatus, WorkspaceToken
from workspaces.tokens import token_mint, workspace_stop

ROUTES = [
    ("anthropic/v1/messages", CLAUDE_MESSAGE),
    ("anthropic/v1/messages/count_tokens", CLAUDE_MESSAGE),
    ("v1/chat/completions", CHAT),
    ("v1/responses", RESPONSE),
]


def anthropic_error(response):
    body = response.json()
    assert body["type"] == "error"
    return body["error"]


def openai_error(response):
    return response.json()["error"]


def error_of(path, response):
    return anthropic_error(response) if path.startswith("anthropic/") else openai_error(response)


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_a_request_without_a_token_is_refused_in_the_route_dialect(proxy: LiveProxy, path, body):
    response = proxy.post(path, body, token="")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = error_of(path, response)
    assert "Authorization: Bearer" in error["message"]
    assert proxy.upstream.received == []


@pytest.mark.parametrize(("path", "body"), ROUTES)
def test_an_unknown_token_is_refused_before_the_body_is_looked_at(proxy: LiveProxy, path, body):
    response = proxy.post(path, b"not json", token="sam_cb_" + "x" * 43)

    assert response.status_code == 401
    assert error_of(path, response)["message"] == "Unknown token."


def test_the_anthropic_sdk_raises_its_authentication_error(proxy: LiveProxy):
    with pytest.raises(anthropic.AuthenticationError) as raised:
        proxy.anthropic(token="sam_cb_" + "y" * 43).messages.create(**CLAUDE_MESSAGE)

    assert raised.value.response.json()["error"]["type"] == "authentication_error"


def test_the_openai_sdk_raises_its_authentication_error(proxy: LiveProxy):
    with pytest.raises(openai.AuthenticationError) as raised:
        proxy.openai(token="not-a-token").chat.completions.create(**CHAT)

    assert raised.value.code == "invalid_token"


def test_x_api_key_is_not_a_token_on_the_openai_routes(proxy: LiveProxy):
    response = proxy.post("v1/chat/completions", CHAT, token="", headers={"x-api-key": proxy.token})

    assert response.status_code == 401


def test_a_revoked_token_is_refused(proxy: LiveProxy):
    WorkspaceToken.objects.update(revoked_at=timezone.now())

    response = proxy.post("v1/chat/completions", CHAT)

    assert response.status_code == 401
    assert openai_error(response)["message"] == "This token has been revoked."


def test_an_expired_token_is_refused(proxy: LiveProxy):
    WorkspaceToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 401
    assert anthropic_error(response)["message"] == "This token has expired."


def test_stopping_the_workspace_cuts_its_agent_off_at_once(proxy: LiveProxy, ws):
    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200
    ws.workspace.status = WorkspaceStatus.STOPPED
    ws.workspace.save()

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 401
    assert anthropic_error(response)["message"] == "The workspace of this token is not running."


def test_workspace_stop_revokes_every_token(proxy: LiveProxy, ws):
    workspace_stop(workspace=ws.workspace)

    assert proxy.post("v1/responses", RESPONSE).status_code == 401


def test_a_proxy_token_is_accepted_in_callback_mode(proxy: LiveProxy, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    _row, proxy_token = token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)

    response = proxy.post("v1/chat/completions", CHAT, token=proxy_token)

    assert response.status_code == 200


def test_scoped_mode_the_default_refuses_callback_tokens_on_every_route(proxy: LiveProxy, ws):
    for path, body in ROUTES:
        response = proxy.post(path, body, token=ws.token)
        assert response.status_code == 403, path
        error = error_of(path, response)
        assert "proxy tokens" in error["message"]
    answer = proxy.post("v1/responses", RESPONSE, token=ws.token)
    assert openai_error(answer)["code"] == "insufficient_scope"
    assert proxy.upstream.received == []


def test_callback_mode_accepts_the_callback_token(proxy: LiveProxy, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"

    assert proxy.post("v1/responses", RESPONSE, token=ws.token).status_code == 200


def test_scoped_mode_set_by_an_admin_accepts_a_proxy_token(proxy: LiveProxy, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "callback"
    ProxySettings.objects.create(token_mode="scoped")
    _row, proxy_token = token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)

    assert proxy.post("v1/responses", RESPONSE, token=proxy_token).status_code == 200
    assert proxy.post("v1/responses", RESPONSE, token=ws.token).status_code == 403


def test_a_token_of_any_running_workspace_works_with_that_workspace(proxy: LiveProxy, bob):
    bobs = make_workspace(bob)

    assert (
        proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE, token=bobs.proxy_token()).status_code
        == 200
    )


@pytest.mark.parametrize(("path", "body"), [*ROUTES, ("v1/models", None)])
def test_the_kill_switch_answers_503_before_the_token_is_checked(
    proxy: LiveProxy, settings, path, body
):
    settings.AI_PROXY_ENABLED = False

    if body is None:
        response = httpx.get(f"{proxy.base}/{path}")
    else:
        response = proxy.post(path, body, token="")

    assert response.status_code == 503
    assert "turned off" in error_of(path, response)["message"]
    assert proxy.upstream.received == []


def test_an_admin_can_turn_the_proxy_off_over_the_environment(proxy: LiveProxy, settings):
    settings.AI_PROXY_ENABLED = True
    ProxySettings.objects.create(enabled=False)

    response = proxy.post("v1/chat/completions", CHAT)

    assert response.status_code == 503
    assert openai_error(response)["code"] == "proxy_disabled"


def test_an_admin_turning_the_proxy_off_reaches_a_serving_worker_within_seconds(proxy: LiveProxy):
    assert proxy.post("v1/chat/completions", CHAT).status_code == 200
    ProxySettings.objects.create(enabled=False)

    deadline = time.monotonic() + 5
    statuses = []
    while time.monotonic() < deadline and 503 not in statuses:
        statuses.append(proxy.post("v1/chat/completions", CHAT).status_code)
        time.sleep(0.2)

    assert statuses[-1] == 503
