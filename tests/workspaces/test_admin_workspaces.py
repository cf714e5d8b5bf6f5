import re

import pytest
from django.contrib.auth.models import Permission

from credentials.models import Project
from tests.support import post_json
from workspaces.models import Task, TokenKind, Workspace, WorkspaceStatus, WorkspaceToken
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


def test_staff_with_every_permission_is_not_offered_the_mint_action(client, staff_user, ws):
    staff_user.user_permissions.set(Permission.objects.all())
    client.force_login(staff_user)

    response = client.get(WORKSPACES)

    assert response.status_code == 200
    actions = [value for value, _label in response.context["action_form"].fields["action"].choices]
    assert "revoke_tokens" in actions
    assert "mint_callback_token" not in actions


def test_a_forged_mint_post_from_staff_with_every_permission_mints_nothing(client, staff_user, ws):
    staff_user.user_permissions.set(Permission.objects.all())
    client.force_login(staff_user)

    response = client.post(
        WORKSPACES, {"action": "mint_callback_token", "_selected_action": [ws.id]}
    )

    assert response.status_code == 302
    assert not re.search(r"sam_cb_", response.content.decode())
    assert WorkspaceToken.objects.filter(workspace=ws.workspace).count() == 1


def test_a_superuser_is_offered_the_mint_action(client, admin_user, ws):
    client.force_login(admin_user)
    response = client.get(WORKSPACES)
    actions = [value for value, _label in response.context["action_form"].fields["action"].choices]
    assert "mint_callback_token" in actions


def test_staff_without_workspace_permissions_cannot_open_workspaces(client, staff_user):
    staff_user.user_permissions.clear()
    client.force_login(staff_user)
    assert client.get(WORKSPACES).status_code == 403


def test_the_admin_refuses_a_workspace_in_another_users_project(client, admin_user, alice, bob):
    bobs = Project.objects.create(owner=bob, name="bobs-project")
    client.force_login(admin_user)

    response = client.post(
        f"{WORKSPACES}add/",
        {
            "name": "w",
            "user": alice.pk,
            "project": bobs.pk,
            "status": "running",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 200
    assert "belongs to another user" in response.content.decode()
    assert not Workspace.objects.filter(project=bobs).exists()


def test_the_admin_accepts_a_workspace_in_its_users_project(client, admin_user, alice, project):
    client.force_login(admin_user)
    response = client.post(
        f"{WORKSPACES}add/",
        {
            "name": "w",
            "user": alice.pk,
            "project": project.pk,
            "status": "running",
            **_empty_inlines(),
        },
    )
    assert response.status_code == 302
    assert Workspace.objects.filter(user=alice, project=project, name="w").exists()


def test_the_admin_refuses_moving_a_workspace_to_another_user_keeping_the_project(
    client, admin_user, bob, ws
):
    client.force_login(admin_user)
    project = ws.workspace.project
    response = client.post(
        f"{WORKSPACES}{ws.id}/change/",
        {
            "name": "",
            "user": bob.pk,
            "project": project.pk,
            "status": "running",
            **_empty_inlines(),
        },
    )
    assert response.status_code == 200
    assert "belongs to another user" in response.content.decode()
    ws.workspace.refresh_from_db()
    assert ws.workspace.user_id != bob.pk


def test_the_admin_refuses_giving_a_project_with_workspaces_to_another_owner(
    client, admin_user, bob, ws
):
    project = ws.workspace.project
    client.force_login(admin_user)
    response = client.post(
        f"/admin/credentials/project/{project.pk}/change/", {"name": project.name, "owner": bob.pk}
    )
    assert response.status_code == 200
    assert "Workspaces of another user" in response.content.decode()
    project.refresh_from_db()
    assert project.owner_id != bob.pk


def _empty_inlines() -> dict[str, str]:
    fields = {}
    for prefix in ("tokens", "tasks"):
        fields.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "0",
            }
        )
    return fields


def test_tasks_show_where_their_agent_credential_came_from(client, admin_user, ws):
    task = Task.objects.create(workspace=ws.workspace, title="fix the login bug")
    post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
    client.force_login(admin_user)
    html = client.get(TASKS).content.decode()
    assert "fix the login bug" in html
    assert 'field-agent_credential_source">Proxy<' in "".join(html.split())
    workspace_page = client.get(f"{WORKSPACES}{ws.id}/change/").content.decode()
    assert task.title in workspace_page
