"""No secret ever reaches the audit trail (SPEC §4, §23): keys created, replaced, served,
synced and rotated, and tokens minted, through the admin, the agents page, the API and the
commands, leave no plaintext, token, ciphertext or token hash in the table or on the pages
that show it."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from audit.models import AuditEvent
from credentials.models import Credential
from tests.support import CLAUDE_KEY, CLAUDE_PROJECT_KEY, post_json
from workspaces.models import WorkspaceToken

pytestmark = pytest.mark.django_db

K1 = "k1:" + "1" * 64
K2 = "k2:" + "2" * 64
PLATFORM_KEY = "sk-ant-api03-platform-first-key-0000000000000PPPP"
PLATFORM_KEY_2 = "sk-ant-api03-platform-second-key-000000000000QQQQ"
ALICE_KEY_2 = "sk-ant-api03-alice-second-key-0000000000000000RRRR"
CODEX_LOGIN = json.dumps({"tokens": {"access_token": "eyJ-codex-access-token-first-SSSS"}})
CODEX_LOGIN_2 = json.dumps({"tokens": {"access_token": "eyJ-codex-access-token-newer-TTTT"}})
TOKEN = re.compile(r"sam_cb_[A-Za-z0-9_-]{43}")


def command(name, *args, stdin=None, monkeypatch=None, **options):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", StringIO(stdin))
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def ciphertexts():
    """Every stored ciphertext as it is now, whole and without its key id."""
    sealed = [row.secret for row in Credential.objects.all()]
    return [str(s) for s in sealed] + [s.token for s in sealed]


def every_kind_of_change(client, admin_user, alice, project, ws, settings, monkeypatch):
    """Make each change the trail records; returns every secret value seen on the way."""
    seen = []
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    client.force_login(admin_user)
    client.post(
        "/admin/credentials/platformcredential/add/",
        {
            "agent_type": "claude-code",
            "kind": "api-key",
            "new_secret": PLATFORM_KEY,
            "is_active": "on",
        },
    )
    platform = Credential.objects.get(scope="platform")
    seen += ciphertexts()
    client.post(
        f"/admin/credentials/platformcredential/{platform.pk}/change/",
        {"label": "prod", "new_secret": PLATFORM_KEY_2, "is_active": "on"},
    )
    seen += ciphertexts()

    client.force_login(alice)
    for secret in (CLAUDE_KEY, ALICE_KEY_2):
        client.post(
            "/settings/agents/keys/",
            {"agent_type": "claude-code", "kind": "api-key", "secret": secret},
        )
    client.post(
        "/settings/agents/keys/",
        {"agent_type": "openai-codex", "kind": "oauth-token", "secret": CODEX_LOGIN},
    )
    seen += ciphertexts()
    command(
        "set_credential",
        scope="project",
        user="alice",
        project=project.name,
        agent="opencode",
        stdin=CLAUDE_PROJECT_KEY,
        monkeypatch=monkeypatch,
    )
    seen += ciphertexts()

    assert post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token).status_code == 200
    sync = {
        "agentType": "openai-codex",
        "credentialKind": "oauth-token",
        "credential": CODEX_LOGIN_2,
    }
    assert post_json(client, ws.url("agent-credential-sync"), sync, ws.token).json()["updated"]
    seen += ciphertexts()

    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K2},{K1}"
    command("rotate_credential_keys")
    seen += ciphertexts()

    client.force_login(admin_user)
    minted = client.post(
        "/admin/workspaces/workspace/",
        {"action": "mint_callback_token", "_selected_action": [ws.id]},
    )
    tokens = TOKEN.findall(minted.content.decode())
    tokens += TOKEN.findall(command("mint_workspace_token", ws.id))
    tokens += TOKEN.findall(command("create_workspace", user="alice"))
    assert len(tokens) == 3
    hashes = list(WorkspaceToken.objects.values_list("token_hash", flat=True))

    plaintexts = [PLATFORM_KEY, PLATFORM_KEY_2, CLAUDE_KEY, ALICE_KEY_2, CLAUDE_PROJECT_KEY]
    plaintexts += [CODEX_LOGIN, CODEX_LOGIN_2]
    # All but the last four characters (the hint, which the pages show by design), and a
    # token without its display prefix.
    return (
        plaintexts
        + [p[:-4] for p in plaintexts]
        + ["eyJ-codex-access-token-first", "eyJ-codex-access-token-newer"]
        + tokens
        + [t[12:] for t in tokens]
        + [ws.token, ws.token[12:]]
        + hashes
        + seen
    )


def test_no_secret_token_ciphertext_or_hash_is_in_the_table_or_on_the_pages(
    client, admin_user, alice, project, ws, settings, monkeypatch
):
    secrets = every_kind_of_change(client, admin_user, alice, project, ws, settings, monkeypatch)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions >= {"created", "updated", "served", "synced", "rotated", "minted"}

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM audit_auditevent")
        table = repr(cursor.fetchall())
    texts = {
        "table": table,
        "rows": json.dumps(list(AuditEvent.objects.values()), cls=DjangoJSONEncoder),
    }
    client.force_login(admin_user)
    pages = ["/admin/audit/auditevent/", "/admin/audit/auditevent/?q=sk-ant"]
    pages += [
        f"/admin/audit/auditevent/{pk}/change/"
        for pk in AuditEvent.objects.values_list("pk", flat=True)
    ]
    pages += [
        f"/admin/credentials/{page}credential/{row.pk}/change/"
        for row in Credential.objects.all()
        for page in [row.scope]
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        texts[page] = response.content.decode()

    leaks = [
        (where, secret) for where, text in texts.items() for secret in secrets if secret in text
    ]
    assert leaks == []
    assert "…QQQQ" in texts["/admin/audit/auditevent/"]  # the hint is what stands in for a key
