"""The management commands are a public contract for ops scripts: names, flags, output shapes."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from credentials.models import Credential
from workspaces.models import Workspace, WorkspaceStatus, WorkspaceToken
from workspaces.tokens import hash_token

pytestmark = pytest.mark.django_db


def run(name, *args, stdin=None, monkeypatch=None, **options):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", StringIO(stdin))
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), **options)
    return json.loads(out.getvalue())


def test_create_workspace_prints_id_token_user_and_project(alice, project):
    printed = run("create_workspace", user="alice", project="acme")

    assert set(printed) == {"workspace_id", "callback_token", "user", "project"}
    assert printed["user"] == "alice"
    assert printed["project"] == "acme"
    workspace = Workspace.objects.get(pk=printed["workspace_id"])
    assert workspace.status == WorkspaceStatus.RUNNING
    token = WorkspaceToken.objects.get(token_hash=hash_token(printed["callback_token"]))
    assert token.workspace == workspace
    assert token.kind == "callback"


def test_create_workspace_without_a_project_prints_null(alice):
    assert run("create_workspace", user="alice")["project"] is None


def test_create_workspace_can_create_the_user_and_project(db):
    printed = run("create_workspace", user="carol", project="lab", create_user=True)

    carol = get_user_model().objects.get(username="carol")
    assert not carol.has_usable_password()
    workspace = Workspace.objects.select_related("project").get(pk=printed["workspace_id"])
    assert workspace.project is not None
    assert workspace.project.owner == carol


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"user": "nobody"}, "No user named 'nobody'"),
        ({"user": "alice", "project": "nope"}, "no project named 'nope'"),
    ],
)
def test_create_workspace_refuses_what_does_not_exist(alice, options, message):
    with pytest.raises(CommandError, match=message):
        run("create_workspace", **options)


def test_set_credential_reads_the_secret_from_stdin_and_prints_no_secret(alice, monkeypatch):
    printed = run(
        "set_credential",
        scope="user",
        user="alice",
        agent="claude-code",
        stdin="sk-ant-api03-from-stdin-000000wxyz\n",
        monkeypatch=monkeypatch,
    )

    credential = Credential.objects.get()
    assert printed == {
        "id": credential.pk,
        "scope": "user",
        "agent": "claude-code",
        "kind": "api-key",
        "hint": "…wxyz",
        "label": "",
        "active": True,
    }
    assert credential.reveal_secret() == "sk-ant-api03-from-stdin-000000wxyz"


def test_set_credential_for_a_project_with_label_and_inactive(alice, project, monkeypatch):
    printed = run(
        "set_credential",
        scope="project",
        user="alice",
        project="acme",
        agent="openai-codex",
        kind="oauth-token",
        label="ci bot",
        inactive=True,
        stdin='{"tokens": {"access_token": "eyJ-access-123456"}}',
        monkeypatch=monkeypatch,
    )

    credential = Credential.objects.get()
    assert printed["active"] is False
    assert (credential.project, credential.owner, credential.label) == (project, alice, "ci bot")


def test_set_credential_for_the_platform(db, monkeypatch):
    printed = run(
        "set_credential",
        scope="platform",
        agent="opencode",
        stdin="oc-platform-key-99999",
        monkeypatch=monkeypatch,
    )

    assert printed["scope"] == "platform"
    assert (printed["label"], printed["weight"]) == ("primary", 1)
    assert Credential.objects.get().owner is None


def test_set_credential_adds_platform_keys_to_the_pool_by_label_and_replaces_one(db, monkeypatch):
    def platform(label, secret, **options):
        return run(
            "set_credential",
            scope="platform",
            agent="claude-code",
            label=label,
            stdin=secret,
            monkeypatch=monkeypatch,
            **options,
        )

    first = platform("east", "sk-ant-api03-east-key-000000000001")
    second = platform("west", "sk-ant-api03-west-key-000000000002", weight=3)
    again = platform("west", "sk-ant-api03-west-key-000000000003")

    assert first["id"] != second["id"] == again["id"]
    assert (second["weight"], again["weight"]) == (3, 3)
    assert again["hint"] == "…0003"
    pool = Credential.objects.filter(scope="platform", is_active=True).order_by("label")
    assert [(row.label, row.weight) for row in pool] == [("east", 1), ("west", 3)]
    assert pool[1].reveal_secret() == "sk-ant-api03-west-key-000000000003"


@pytest.mark.parametrize(
    "options", [{"scope": "user", "user": "alice", "weight": 2}, {"scope": "platform", "weight": 0}]
)
def test_set_credential_takes_a_weight_of_at_least_one_for_platform_keys_only(
    alice, monkeypatch, options
):
    with pytest.raises(CommandError, match="--weight is for platform keys"):
        run(
            "set_credential",
            agent="claude-code",
            stdin="sk-ant-api03-some-key-000000000001",
            monkeypatch=monkeypatch,
            **options,
        )
    assert not Credential.objects.exists()


@pytest.mark.parametrize(
    ("options", "stdin", "message"),
    [
        (
            {"scope": "user", "agent": "claude-code"},
            "sk-ant-api03-xxxxxxxxxxxxxxxx",
            "--user is required",
        ),
        (
            {"scope": "project", "user": "alice", "agent": "claude-code"},
            "sk-ant-api03-xxxxxxxxxxxxxxxx",
            "--project is required",
        ),
        (
            {"scope": "platform", "user": "alice", "agent": "claude-code"},
            "sk-ant-api03-xxxxxxxxxxxxxxxx",
            "belong to no user",
        ),
        (
            {"scope": "user", "user": "alice", "agent": "claude-code"},
            "sk-ant-oat01-xxxxxxxxxxxxxxxx",
            "This is an OAuth token",
        ),
        (
            {"scope": "user", "user": "alice", "agent": "claude-code"},
            "\n",
            "No secret on standard input",
        ),
        (
            {"scope": "user", "user": "zed", "agent": "claude-code"},
            "sk-ant-api03-xxxxxxxxxxxxxxxx",
            "No user named",
        ),
    ],
)
def test_set_credential_errors_exit_nonzero_with_a_message(
    alice, monkeypatch, options, stdin, message
):
    with pytest.raises(CommandError, match=message):
        run("set_credential", stdin=stdin, monkeypatch=monkeypatch, **options)
    assert not Credential.objects.exists()


def test_revoke_workspace_stops_it_and_revokes_every_token(ws):
    from workspaces.tokens import token_mint

    token_mint(workspace=ws.workspace, kind="proxy")

    printed = run("revoke_workspace", ws.id)

    assert printed == {"workspace_id": ws.id, "status": "stopped", "tokens_revoked": 2}
    assert not WorkspaceToken.objects.filter(revoked_at__isnull=True).exists()


def test_revoke_workspace_of_an_unknown_id_fails(db):
    with pytest.raises(CommandError, match="No workspace"):
        run("revoke_workspace", "not-a-uuid")


def test_mint_workspace_token_prints_a_working_token(client, ws):
    printed = run("mint_workspace_token", ws.id)

    response = client.post(
        ws.url(),
        {"agentType": "claude-code"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {printed['callback_token']}"},
    )
    assert response.status_code == 200


def test_bootstrap_demo_creates_users_once(db):
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)
    assert "sam_cb_" in out.getvalue()
    assert get_user_model().objects.filter(username__in=["admin", "demo"]).count() == 2

    again = StringIO()
    call_command("bootstrap_demo", stdout=again)
    assert "sam_cb_" not in again.getvalue()
    assert Workspace.objects.count() == 1
