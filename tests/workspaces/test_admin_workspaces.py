import re

import pytest

from tests.support import post_json
from workspaces.models import Task, TokenKind, WorkspaceStatus, WorkspaceToken
from workspaces.tokens import hash_token

pytestmark = pytest.mark.django_db

WORKSPACES = "/admin/workspaces/workspace/"
TASKS = "/admin/workspaces/task/"


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(WORKSPACES)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_workspace_page_lists_token_prefixes_but_never_a_token_or_its_hash(
    client, admin_user, ws
):
    token = WorkspaceToken.objects.get(workspace=ws.workspace)
    client.force_login(admin_user)
    html = client.get(f"{WORKSPACES}{ws.id}/change/").content.decode()
    assert f"{token.prefix}…" in html
    assert "live" in html
    assert ws.token not in html
    assert token.token_hash not in html


def test_minting_shows_the_token_once_and_stores_only_its_hash(client, admin_user, ws):
    client.force_login(admin_user)
    response = client.post(
        WORKSPACES, {"action": "mint_callback_token", "_selected_action": [ws.id]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [raw] = re.findall(r"sam_cb_[A-Za-z0-9_-]{43}", response.content.decode())
    assert raw != ws.token
    minted = WorkspaceToken.objects.get(token_hash=hash_token(raw))
    assert minted.kind == TokenKind.CALLBACK
    assert raw not in str(list(WorkspaceToken.objects.values()))
    # The token works at once, and the page that listed it does not show it again.
    assert post_json(client, ws.url(), {"agentType": "claude-code"}, raw).status_code == 200
    assert raw not in client.get(f"{WORKSPACES}{ws.id}/change/").content.decode()
    assert raw not in client.get(f"{WORKSPACES}{ws.id}/history/").content.decode()


def test_minting_for_a_stopped_workspace_is_refused(client, admin_user, ws):
    ws.workspace.status = WorkspaceStatus.STOPPED
    ws.workspace.save()
    client.force_login(admin_user)
    response = client.post(
        WORKSPACES, {"action": "mint_callback_token", "_selected_action": [ws.id]}, follow=True
    )
    assert "start it first" in response.content.decode()
    assert WorkspaceToken.objects.filter(workspace=ws.workspace).count() == 1


def test_revoking_tokens_cuts_the_workspace_off(client, admin_user, ws, bob_ws):
    client.force_login(admin_user)
    response = client.post(WORKSPACES, {"action": "revoke_tokens", "_selected_action": [ws.id]})
    assert response.status_code == 302
    assert post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token).status_code == 401
    assert (
        post_json(client, bob_ws.url(), {"agentType": "claude-code"}, bob_ws.token).status_code
        == 200
    )
    html = client.get(f"{WORKSPACES}{ws.id}/change/").content.decode()
    assert "revoked" in html


def test_stopping_a_workspace_revokes_its_tokens(client, admin_user, ws):
    client.force_login(admin_user)
    client.post(WORKSPACES, {"action": "stop", "_selected_action": [ws.id]})
    ws.workspace.refresh_from_db()
    assert ws.workspace.status == WorkspaceStatus.STOPPED
    assert not WorkspaceToken.objects.filter(
        workspace=ws.workspace, revoked_at__isnull=True
    ).exists()


def test_staff_with_permissions_can_mint_but_staff_without_cannot(client, staff_user, alice, ws):
    client.force_login(staff_user)
    response = client.post(
        WORKSPACES, {"action": "mint_callback_token", "_selected_action": [ws.id]}
    )
    assert response.status_code == 200
    staff_user.user_permissions.clear()
    assert client.get(WORKSPACES).status_code == 403


def test_tasks_show_where_their_agent_credential_came_from(client, admin_user, ws):
    task = Task.objects.create(workspace=ws.workspace, title="fix the login bug")
    post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
    client.force_login(admin_user)
    html = client.get(TASKS).content.decode()
    assert "fix the login bug" in html
    assert 'field-agent_credential_source">Proxy<' in "".join(html.split())
    workspace_page = client.get(f"{WORKSPACES}{ws.id}/change/").content.decode()
    assert task.title in workspace_page
