"""A workspace's project is one of its user's (SPEC §26): refused at every entry point, and
resolution never hands one user's project key to another user's workspace, even when a row
that says otherwise is forced into the database."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from credentials.models import Credential, Project, Scope
from tests.support import CLAUDE_KEY, add_credential, make_workspace, post_json
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

BOBS_PROJECT_KEY = "sk-ant-api03-bobs-project-key-0000000000000000ZZZZ"
CODEX_AUTH = json.dumps({"tokens": {"access_token": "bobs-access-token-0000"}})


@pytest.fixture
def bobs_project(bob):
    project = Project.objects.create(owner=bob, name="bobs-project")
    add_credential(Scope.PROJECT, "claude-code", BOBS_PROJECT_KEY, project=project)
    return project


def test_a_workspace_in_another_users_project_fails_validation(alice, bobs_project):
    workspace = Workspace(user=alice, project=bobs_project)

    with pytest.raises(ValidationError) as refused:
        workspace.full_clean()

    assert "project" in refused.value.message_dict


def test_a_workspace_in_its_users_project_passes_validation(alice, project):
    Workspace(user=alice, project=project).full_clean()


def test_create_workspace_refuses_another_users_project(alice, bobs_project):
    with pytest.raises(CommandError, match="no project named 'bobs-project'"):
        call_command("create_workspace", user="alice", project="bobs-project", stdout=StringIO())
    assert not Workspace.objects.filter(project=bobs_project).exists()


def test_set_credential_refuses_another_users_project(alice, bobs_project, monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO(CLAUDE_KEY))
    with pytest.raises(CommandError, match="no project named 'bobs-project'"):
        call_command(
            "set_credential",
            scope="project",
            agent="claude-code",
            user="alice",
            project="bobs-project",
            stdout=StringIO(),
        )
    assert not Credential.objects.filter(project=bobs_project, owner=alice).exists()


def _forced_into(workspace, project):
    """Put the workspace in the project the way a bug or a hand-written query could:
    without validation."""
    Workspace.objects.filter(pk=workspace.pk).update(project=project)


def test_a_workspace_forced_into_another_users_project_gets_its_users_own_key(
    client, alice, bobs_project
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    ws = make_workspace(alice)
    _forced_into(ws.workspace, bobs_project)

    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)

    assert response.status_code == 200
    assert response.json()["apiKey"] == CLAUDE_KEY
    assert response.json()["credentialSource"] == "user"


def test_a_workspace_forced_into_another_users_project_by_raw_sql_never_gets_that_key(
    client, alice, bobs_project
):
    ws = make_workspace(alice)
    table = connection.ops.quote_name(Workspace._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET project_id = %s WHERE id = %s",  # noqa: S608 - model name only
            [bobs_project.pk, ws.workspace.pk.hex if connection.vendor == "sqlite" else ws.id],
        )
    assert Workspace.objects.get(pk=ws.workspace.pk).project_id == bobs_project.pk

    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)

    assert response.status_code == 200
    assert BOBS_PROJECT_KEY not in response.content.decode()
    assert response.json()["credentialSource"] == "platform"
    assert "inferenceConfig" in response.json()


def test_a_project_key_still_reaches_the_project_owners_own_workspace(client, bob, bobs_project):
    ws = make_workspace(bob, bobs_project)
    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
    assert response.json()["apiKey"] == BOBS_PROJECT_KEY


def test_a_forced_workspace_cannot_overwrite_the_other_users_project_credential(
    client, alice, bob, bobs_project
):
    add_credential(
        Scope.PROJECT, "openai-codex", CODEX_AUTH, project=bobs_project, kind="oauth-token"
    )
    ws = make_workspace(alice)
    _forced_into(ws.workspace, bobs_project)
    refreshed = json.dumps({"tokens": {"access_token": "alice-overwrites-0000"}})

    response = post_json(
        client,
        ws.url("agent-credential-sync"),
        {"agentType": "openai-codex", "credentialKind": "oauth-token", "credential": refreshed},
        ws.token,
    )

    assert response.json() == {"success": False, "reason": "credential_not_found"}
    row = Credential.objects.get(project=bobs_project, agent_type="openai-codex")
    assert row.reveal_secret() == CODEX_AUTH
