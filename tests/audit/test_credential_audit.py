"""Every change to a credential is one audit event with its actor and the non-secret fields
before and after (SPEC §23): the admin pages, the user's agents page, the management
commands and the VM's credential sync."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import AuditAction, AuditEvent
from credentials.models import Credential, Scope
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PLATFORM_KEY,
    add_credential,
    events_of,
    post_json,
)

pytestmark = pytest.mark.django_db

PLATFORM = "/admin/credentials/platformcredential/"
USERS = "/admin/credentials/usercredential/"
AGENTS_PAGE = "/settings/agents/"
NEW_PLATFORM_KEY = "sk-ant-api03-platform-replacement-0000000000NNNN"
K1 = "k1:" + "1" * 64
K2 = "k2:" + "2" * 64


def changed(event):
    """The fields an event says changed, with their values before and after."""
    return {name: (old, new) for name, old, new in event.changes() if old != new}


def test_an_admin_adding_a_platform_key_records_who_and_what_but_not_the_key(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        PLATFORM + "add/",
        {
            "agent_type": "claude-code",
            "kind": "api-key",
            "label": "production",
            "new_secret": CLAUDE_PLATFORM_KEY,
            "is_active": "on",
        },
    )
    assert response.status_code == 302

    credential = Credential.objects.get()
    event = events_of(credential).get()
    assert (event.action, event.actor_kind, event.actor_user, event.actor_label) == (
        AuditAction.CREATED,
        "user",
        admin_user,
        "admin",
    )
    assert event.target_label == "Platform claude-code api-key …CCCC (production)"
    assert event.before is None
    assert event.after == {
        "scope": "platform",
        "owner_id": None,
        "project_id": None,
        "agent_type": "claude-code",
        "kind": "api-key",
        "label": "production",
        "weight": 1,
        "is_active": True,
        "key_id": credential.key_id,
        "hint": "…CCCC",
        "secret": "set",
    }
    assert event.superusers_only is True


def test_replacing_a_key_in_the_admin_records_the_new_hint_and_that_the_secret_changed(
    client, admin_user
):
    credential = add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    client.force_login(admin_user)
    response = client.post(
        f"{PLATFORM}{credential.pk}/change/",
        {"label": "", "new_secret": NEW_PLATFORM_KEY, "is_active": "on"},
    )
    assert response.status_code == 302

    event = events_of(credential).first()
    assert (event.action, event.actor_user) == (AuditAction.UPDATED, admin_user)
    assert changed(event) == {"hint": ("…CCCC", "…NNNN"), "secret": (None, "changed")}


def test_saving_the_same_key_again_says_the_secret_is_unchanged(client, admin_user):
    credential = add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    client.force_login(admin_user)
    client.post(
        f"{PLATFORM}{credential.pk}/change/",
        {"label": "", "new_secret": CLAUDE_PLATFORM_KEY, "is_active": "on"},
    )

    assert changed(events_of(credential).first()) == {"secret": (None, "unchanged")}


def test_relabelling_and_switching_off_in_the_admin_are_two_events(client, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    client.post(f"{USERS}{credential.pk}/change/", {"label": "laptop", "new_secret": ""})

    relabelled, switched_off = events_of(credential).order_by("id")[1:]
    assert (relabelled.action, changed(relabelled)) == (
        AuditAction.UPDATED,
        {"label": ("", "laptop")},
    )
    assert (switched_off.action, changed(switched_off)) == (
        AuditAction.DEACTIVATED,
        {"is_active": (True, False)},
    )
    assert {relabelled.actor_user, switched_off.actor_user} == {admin_user}
    assert relabelled.superusers_only is False


def test_turning_a_key_on_records_the_sibling_it_turned_off(client, admin_user, alice):
    api_key = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    oauth = add_credential(
        Scope.USER,
        "claude-code",
        "sk-ant-oat01-alice-oauth-token-0000000000000",
        owner=alice,
        kind="oauth-token",
        active=False,
    )
    client.force_login(admin_user)
    client.post(USERS, {"action": "activate", "_selected_action": [oauth.pk]})

    assert (events_of(oauth).first().action, events_of(api_key).first().action) == (
        AuditAction.ACTIVATED,
        AuditAction.DEACTIVATED,
    )
    assert events_of(api_key).first().actor_user == admin_user
    assert events_of(api_key).first().target_label == "User claude-code api-key …AAAA of alice"
    assert events_of(oauth).first().target_label.endswith("of alice")


def test_deleting_in_the_admin_keeps_what_the_key_was(client, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    client.post(f"{USERS}{credential.pk}/delete/", {"post": "yes"})

    event = AuditEvent.objects.get(action=AuditAction.DELETED)
    assert (event.target_id, event.actor_user, event.after) == (
        str(credential.pk),
        admin_user,
        None,
    )
    assert (event.before["owner_id"], event.before["hint"]) == (alice.pk, "…AAAA")


def test_the_agents_page_records_the_user_as_the_actor(client, alice):
    client.force_login(alice)
    for secret in (CLAUDE_PLATFORM_KEY, CLAUDE_KEY):
        client.post(
            AGENTS_PAGE + "keys/",
            {"agent_type": "claude-code", "kind": "api-key", "secret": secret, "label": "mine"},
        )
    credential = Credential.objects.get()
    client.post(f"{AGENTS_PAGE}keys/{credential.pk}/deactivate")
    client.post(f"{AGENTS_PAGE}keys/{credential.pk}/delete")

    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.actor_kind, e.actor_label) for e in events] == [
        (AuditAction.CREATED, "user", "alice"),
        (AuditAction.UPDATED, "user", "alice"),
        (AuditAction.DEACTIVATED, "user", "alice"),
        (AuditAction.DELETED, "user", "alice"),
    ]
    assert events[0].after["label"] == "mine"
    assert changed(events[1]) == {"hint": ("…CCCC", "…AAAA"), "secret": (None, "changed")}
    assert changed(events[2]) == {"is_active": (True, False)}
    assert [e.target_label for e in events[1:]] == [
        "User claude-code api-key …AAAA (mine) of alice"
    ] * 3


def test_set_credential_records_the_system_and_the_command(monkeypatch, alice):
    monkeypatch.setattr("sys.stdin", StringIO(CLAUDE_KEY + "\n"))
    call_command(
        "set_credential", scope="user", user="alice", agent="claude-code", stdout=StringIO()
    )

    event = AuditEvent.objects.get()
    assert (event.action, event.actor_kind, event.actor_label, event.actor_user) == (
        AuditAction.CREATED,
        "system",
        "set_credential",
        None,
    )
    assert event.actor == "system (set_credential)"
    assert event.after["owner_id"] == alice.pk
    assert event.target_label == "User claude-code api-key …AAAA of alice"


def test_a_project_keys_events_name_the_project(monkeypatch, project):
    monkeypatch.setattr("sys.stdin", StringIO(CLAUDE_KEY))
    call_command(
        "set_credential",
        scope="project",
        user="alice",
        project="acme",
        agent="claude-code",
        stdout=StringIO(),
    )

    event = AuditEvent.objects.get()
    assert event.target_label == "Project claude-code api-key …AAAA of project acme"
    assert event.after["project_id"] == project.pk


def test_key_rotation_records_the_new_key_id_and_an_unchanged_secret(alice, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K2},{K1}"

    call_command("rotate_credential_keys", stdout=StringIO(), stderr=StringIO())

    event = events_of(credential).first()
    assert (event.action, event.actor_kind, event.actor_label) == (
        AuditAction.ROTATED,
        "system",
        "rotate_credential_keys",
    )
    assert changed(event) == {"key_id": ("k1", "k2"), "secret": (None, "unchanged")}


def test_a_vm_syncing_a_refreshed_login_is_the_workspace_acting(client, ws, alice):
    def auth(token):
        return json.dumps({"tokens": {"access_token": token}})

    credential = add_credential(
        Scope.USER, "openai-codex", auth("old-token-1111"), owner=alice, kind="oauth-token"
    )
    old_hint = credential.hint
    body = {"agentType": "openai-codex", "credentialKind": "oauth-token"}
    response = post_json(
        client,
        ws.url("agent-credential-sync"),
        {**body, "credential": auth("new-token-2222")},
        ws.token,
    )
    assert response.json() == {"success": True, "updated": True}

    event = events_of(credential).first()
    assert (event.action, event.actor_kind, event.actor_workspace_id, event.actor_user) == (
        AuditAction.SYNCED,
        "workspace",
        ws.workspace.pk,
        None,
    )
    assert event.actor == f"workspace {ws.workspace.pk}"
    credential.refresh_from_db()
    assert old_hint != credential.hint
    assert changed(event) == {"hint": (old_hint, credential.hint), "secret": (None, "changed")}
