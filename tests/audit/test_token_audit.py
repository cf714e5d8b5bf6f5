"""Workspace tokens: minting a callback token, revoking tokens and stopping a workspace are
audited, from the admin and from the management commands. The short-lived proxy tokens
agent-key mints in scoped mode are not (see `workspaces.tokens.callback_token_mint`)."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import AuditAction, AuditEvent
from tests.support import post_json
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import hash_token, token_mint

pytestmark = pytest.mark.django_db

WORKSPACES = "/admin/workspaces/workspace/"


def run(name, *args, **options):
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), **options)
    return json.loads(out.getvalue())


def test_an_admin_minting_a_callback_token_records_its_prefix_never_the_token(
    client, admin_user, ws
):
    client.force_login(admin_user)
    response = client.post(
        WORKSPACES, {"action": "mint_callback_token", "_selected_action": [ws.id]}
    )
    [raw] = re.findall(r"sam_cb_[A-Za-z0-9_-]{43}", response.content.decode())
    token = WorkspaceToken.objects.get(token_hash=hash_token(raw))

    event = AuditEvent.objects.get()
    assert (event.action, event.target_type, event.target_id, event.actor_user) == (
        AuditAction.MINTED,
        "workspaces.workspacetoken",
        str(token.pk),
        admin_user,
    )
    assert event.target_label == f"callback {token.prefix}… of workspace {ws.id}"
    assert event.after == {
        "workspace_id": ws.id,
        "kind": "callback",
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat(),
        "revoked_at": None,
    }
    assert event.superusers_only is False


def test_revoking_a_workspaces_tokens_is_one_event_with_the_count(client, admin_user, ws):
    token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)
    client.force_login(admin_user)
    client.post(WORKSPACES, {"action": "revoke_tokens", "_selected_action": [ws.id]})

    event = AuditEvent.objects.get()
    assert (event.action, event.target_type, event.target_id, event.actor_user) == (
        AuditAction.REVOKED,
        "workspaces.workspace",
        ws.id,
        admin_user,
    )
    assert event.after == {"tokens_revoked": 2}


def test_revoking_when_nothing_is_live_records_nothing(client, admin_user, ws):
    client.force_login(admin_user)
    client.post(WORKSPACES, {"action": "revoke_tokens", "_selected_action": [ws.id]})
    client.post(WORKSPACES, {"action": "revoke_tokens", "_selected_action": [ws.id]})
    assert AuditEvent.objects.filter(action=AuditAction.REVOKED).count() == 1


def test_stopping_a_workspace_in_the_admin_records_the_status_and_the_revocation(
    client, admin_user, ws
):
    client.force_login(admin_user)
    client.post(WORKSPACES, {"action": "stop", "_selected_action": [ws.id]})

    event = AuditEvent.objects.get()
    assert (event.action, event.actor_user) == (AuditAction.STOPPED, admin_user)
    shape = {"user_id": ws.workspace.user_id, "project_id": ws.workspace.project_id}
    assert (event.before, event.after) == (
        {**shape, "status": "running"},
        {**shape, "status": "stopped", "tokens_revoked": 1},
    )


def test_the_token_commands_record_the_system_and_their_name(alice, ws):
    created = run("create_workspace", user="alice")
    run("mint_workspace_token", ws.id)
    run("revoke_workspace", ws.id)

    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.actor_kind, e.actor_label) for e in events] == [
        (AuditAction.MINTED, "system", "create_workspace"),
        (AuditAction.MINTED, "system", "mint_workspace_token"),
        (AuditAction.STOPPED, "system", "revoke_workspace"),
    ]
    assert events[0].after["workspace_id"] == created["workspace_id"]
    assert events[1].after["workspace_id"] == ws.id
    assert (events[2].after["status"], events[2].after["tokens_revoked"]) == ("stopped", 2)


def test_scoped_proxy_tokens_minted_by_agent_key_are_not_audited(client, ws, settings):
    settings.AI_PROXY_TOKEN_MODE = "scoped"
    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
    assert response.json()["apiKey"].startswith("sam_px_")
    assert WorkspaceToken.objects.filter(kind=TokenKind.PROXY).count() == 1
    assert not AuditEvent.objects.exists()
