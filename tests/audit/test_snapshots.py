"""Snapshots copy only the fields a model allow-lists, and can say no more about a secret
than set / changed / unchanged."""

import pytest

from audit.models import AuditEvent
from audit.services import SecretChange, audit_record, audit_snapshot
from credentials.models import Credential, Scope
from tests.support import CLAUDE_KEY, add_credential

pytestmark = pytest.mark.django_db


def test_a_snapshot_holds_the_listed_fields_only(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    snapshot = audit_snapshot(credential, ["label", "hint"])

    assert snapshot == {"label": "", "hint": "…AAAA"}


def test_a_credential_snapshot_never_lists_the_secret_or_its_ciphertext():
    assert not {"secret", "last4"} & set(Credential.AUDIT_FIELDS)


def test_a_secret_can_only_be_described_never_copied(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    with pytest.raises(TypeError, match="must be a SecretChange"):
        audit_snapshot(credential, ["label"], secret=CLAUDE_KEY)  # type: ignore[arg-type]
    assert audit_snapshot(credential, [], secret=SecretChange.CHANGED) == {"secret": "changed"}


def test_an_update_that_changed_nothing_audited_is_not_recorded(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    same = audit_snapshot(credential, Credential.AUDIT_FIELDS)

    assert audit_record(action="updated", target=credential, before=same, after=same) is None
    assert not AuditEvent.objects.filter(action="updated").exists()


def test_an_event_has_one_actor(alice, ws):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    with pytest.raises(ValueError, match="one actor"):
        audit_record(
            action="served",
            target=credential,
            actor_user=alice,
            actor_workspace_id=ws.workspace.pk,
        )


def test_a_users_events_still_name_them_once_they_are_deleted(alice, bob):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=bob)
    event = audit_record(action="updated", target=credential, actor_user=alice)
    alice.delete()

    assert event is not None
    event.refresh_from_db()
    assert (event.actor_user, event.actor) == (None, "alice")
