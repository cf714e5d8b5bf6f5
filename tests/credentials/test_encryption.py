"""Encryption at rest and key rotation (SPEC §4)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditAction, AuditEvent
from credentials.encryption import KeyConfigError, SealedSecret, UnreadableSecret, parse_key_setting
from credentials.models import Credential, Scope
from tests.support import CLAUDE_KEY, add_credential, post_json

pytestmark = pytest.mark.django_db

K1 = "k1:" + "1" * 64
K2 = "k2:" + "2" * 64
K3 = "k3:" + "3" * 64


def stored_text(credential):
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM credentials_credential WHERE id = %s", [credential.pk])
        return cursor.fetchone()[0]


def test_the_secret_is_not_stored_in_clear(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    text = stored_text(credential)

    assert CLAUDE_KEY not in text
    assert CLAUDE_KEY[-8:] not in text
    assert text.startswith("k2$")


def test_the_newest_key_encrypts_and_its_id_is_recorded(alice, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K3},{K2}"

    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    assert credential.key_id == "k3"
    assert Credential.objects.get().reveal_secret() == CLAUDE_KEY


def test_changing_secret_key_keeps_credentials_readable(alice, settings):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    settings.SECRET_KEY = "a-completely-different-secret-key-after-a-leak"

    assert Credential.objects.get(pk=credential.pk).reveal_secret() == CLAUDE_KEY


def test_an_old_key_still_decrypts_after_a_new_one_is_added(alice, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K2},{K1}"

    assert Credential.objects.get(pk=credential.pk).reveal_secret() == CLAUDE_KEY


def test_a_value_no_key_opens_raises_and_is_never_returned(alice, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.CREDENTIAL_ENCRYPTION_KEYS = K2

    loaded = Credential.objects.get(pk=credential.pk)  # loading never decrypts

    with pytest.raises(UnreadableSecret):
        loaded.reveal_secret()


def test_a_tampered_value_raises(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    sealed = credential.secret
    flipped = sealed.token[:-6] + ("A" if sealed.token[-6] != "A" else "B") + sealed.token[-5:]
    Credential.objects.filter(pk=credential.pk).update(secret=SealedSecret(sealed.key_id, flipped))

    with pytest.raises(UnreadableSecret):
        Credential.objects.get(pk=credential.pk).reveal_secret()


def test_a_row_under_a_removed_key_is_503_credential_unreadable(
    client, ws, alice, settings, caplog
):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.CREDENTIAL_ENCRYPTION_KEYS = K2

    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)

    assert response.status_code == 503
    assert response.json()["error"] == "credential_unreadable"
    assert stored_text(credential) not in response.content.decode()
    unreadable = [r for r in caplog.records if r.getMessage() == "credential.unreadable"]
    assert unreadable[0].credential_id == credential.pk
    assert not AuditEvent.objects.filter(action=AuditAction.SERVED).exists()


def test_assigning_plaintext_directly_is_refused(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    credential.secret = "sk-ant-api03-plaintext-by-mistake-0000"

    with pytest.raises(TypeError):
        credential.save()


def test_repr_and_str_never_show_the_secret(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    for text in (repr(credential), str(credential), repr(credential.secret), str(vars(credential))):
        assert CLAUDE_KEY not in text
    assert credential.hint == "…AAAA"


def test_short_secrets_show_no_characters():
    from credentials.formats import secret_last4

    assert secret_last4("12345678") == ""
    assert secret_last4("123456789") == "6789"


def run_rotation(**options):
    out, err = StringIO(), StringIO()
    call_command("rotate_credential_keys", stdout=out, stderr=err, **options)
    return json.loads(out.getvalue())


def test_rotation_reencrypts_every_row_under_the_newest_key(alice, bob, project, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    rows = [
        add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice),
        add_credential(Scope.USER, "opencode", "oc-bob-key-1234567890", owner=bob),
        add_credential(Scope.PLATFORM, "openai-codex", "sk-proj-platform-0000000001"),
    ]
    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K2},{K1}"

    report = run_rotation(batch_size=2)

    assert report == {
        "newest_key_id": "k2",
        "rotated": 3,
        "unreadable_ids": [],
        "remaining_on_old_keys": 0,
    }
    settings.CREDENTIAL_ENCRYPTION_KEYS = K2  # the old key can go now
    secrets = {row.pk: Credential.objects.get(pk=row.pk).reveal_secret() for row in rows}
    assert secrets == {
        rows[0].pk: CLAUDE_KEY,
        rows[1].pk: "oc-bob-key-1234567890",
        rows[2].pk: "sk-proj-platform-0000000001",
    }
    assert AuditEvent.objects.filter(action=AuditAction.ROTATED).count() == 3


def test_rotation_is_safe_to_rerun(alice, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K2},{K1}"

    run_rotation()
    again = run_rotation()

    assert again["rotated"] == 0
    assert again["remaining_on_old_keys"] == 0


def test_rotation_reports_rows_it_cannot_read_and_fails(alice, bob, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = K1
    lost = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.CREDENTIAL_ENCRYPTION_KEYS = K3
    kept = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=bob)
    settings.CREDENTIAL_ENCRYPTION_KEYS = f"{K2},{K3}"

    out = StringIO()
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_credential_keys", stdout=out, stderr=StringIO())

    report = json.loads(out.getvalue())
    assert report["unreadable_ids"] == [lost.pk]
    assert report["rotated"] == 1
    assert report["remaining_on_old_keys"] == 1
    assert Credential.objects.get(pk=kept.pk).key_id == "k2"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "is empty"),
        ("k1", "must look like ID:SECRET"),
        ("K1:" + "a" * 64, "must look like ID:SECRET"),
        ("k1:short", "at least 32 characters"),
        (f"{K1},{K1}", "twice"),
        ("a" * 17 + ":" + "a" * 64, "must look like ID:SECRET"),
    ],
)
def test_malformed_key_settings_are_refused_without_quoting_secrets(raw, problem):
    with pytest.raises(KeyConfigError, match=problem) as caught:
        parse_key_setting(raw)
    assert "a" * 32 not in str(caught.value)
    assert "1" * 32 not in str(caught.value)
