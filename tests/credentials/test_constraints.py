"""The database, not only the code, keeps credential rows in shape (SPEC §2)."""

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditAction, AuditEvent
from credentials.encryption import keyring
from credentials.models import Credential, Scope
from credentials.services import credential_delete, credential_set_active
from tests.support import CLAUDE_KEY, CLAUDE_PLATFORM_KEY, add_credential, events_of

pytestmark = pytest.mark.django_db


def raw_row(**fields):
    sealed = keyring().seal("sk-ant-api03-raw-row-000000000000")
    defaults = {
        "agent_type": "claude-code",
        "kind": "api-key",
        "secret": sealed,
        "key_id": sealed.key_id,
    }
    return Credential(**{**defaults, **fields})


def assert_refused(row):
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


@pytest.mark.parametrize(
    "shape",
    [
        {"scope": Scope.USER},  # no owner
        {"scope": Scope.PLATFORM, "owner": "alice"},
        {"scope": Scope.PROJECT, "owner": "alice"},  # no project
        {"scope": Scope.USER, "owner": "alice", "project": "acme"},
    ],
)
def test_the_scope_shape_is_a_database_constraint(alice, project, shape):
    fields = dict(shape)
    if fields.get("owner") == "alice":
        fields["owner"] = alice
    if fields.get("project") == "acme":
        fields["project"] = project

    assert_refused(raw_row(**fields))


def test_one_row_per_user_agent_and_kind(alice):
    raw_row(scope=Scope.USER, owner=alice, is_active=False).save()

    assert_refused(raw_row(scope=Scope.USER, owner=alice, is_active=False))


def test_one_row_per_project_agent_and_kind(alice, project):
    raw_row(scope=Scope.PROJECT, owner=alice, project=project, is_active=False).save()

    assert_refused(raw_row(scope=Scope.PROJECT, owner=alice, project=project, is_active=False))


def test_at_most_one_active_row_per_user_and_agent(alice):
    raw_row(scope=Scope.USER, owner=alice, kind="api-key").save()

    assert_refused(raw_row(scope=Scope.USER, owner=alice, kind="oauth-token"))


def test_the_platform_holds_a_pool_of_keys_per_agent_one_per_label():
    raw_row(scope=Scope.PLATFORM, label="first").save()
    raw_row(scope=Scope.PLATFORM, label="second").save()  # active too: a pool
    raw_row(scope=Scope.PLATFORM, label="spare", is_active=False).save()

    assert_refused(raw_row(scope=Scope.PLATFORM, label="second", is_active=False))
    assert Credential.objects.filter(scope=Scope.PLATFORM, is_active=True).count() == 2


def test_a_key_weight_is_at_least_one():
    assert_refused(raw_row(scope=Scope.PLATFORM, label="light", weight=0))


def test_saving_an_active_key_switches_the_other_kind_off(alice):
    api_key = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    oauth = add_credential(
        Scope.USER, "claude-code", "sk-ant-oat01-token-abcdef", owner=alice, kind="oauth-token"
    )

    api_key.refresh_from_db()
    assert oauth.is_active
    assert not api_key.is_active
    assert events_of(api_key).filter(action=AuditAction.DEACTIVATED).count() == 1


def test_saving_again_replaces_the_secret_of_the_same_row(alice):
    first = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)

    second = add_credential(
        Scope.USER, "claude-code", "sk-ant-api03-replacement-key-9999", owner=alice
    )

    assert first.pk == second.pk
    assert Credential.objects.get().reveal_secret() == "sk-ant-api03-replacement-key-9999"
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["created", "updated"]


def test_activating_a_platform_key_adds_it_to_the_pool_and_keeps_the_others():
    active = add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    spare = raw_row(scope=Scope.PLATFORM, label="new", is_active=False)
    spare.save()

    assert credential_set_active(credential=spare, active=True)

    active.refresh_from_db()
    assert spare.is_active
    assert active.is_active
    assert not events_of(active).filter(action=AuditAction.DEACTIVATED).exists()


def test_saving_a_platform_key_adds_a_label_or_replaces_the_key_of_that_label():
    primary = add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    second = add_credential(
        Scope.PLATFORM, "claude-code", "sk-ant-api03-second-key-2222", label="second", weight=3
    )
    replaced = add_credential(
        Scope.PLATFORM, "claude-code", "sk-ant-api03-replacement-key-9999", label="second"
    )

    assert primary.label == "primary"
    assert second.pk == replaced.pk != primary.pk
    assert replaced.weight == 3  # a replaced secret keeps its weight
    assert replaced.reveal_secret() == "sk-ant-api03-replacement-key-9999"
    assert Credential.objects.filter(scope=Scope.PLATFORM, is_active=True).count() == 2


def test_deleting_keeps_the_audit_trail(alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    credential_id = credential.pk

    credential_delete(credential=credential, actor=alice)

    assert not Credential.objects.exists()
    deleted = AuditEvent.objects.get(action=AuditAction.DELETED)
    assert deleted.target_id == str(credential_id)
    assert (deleted.before["scope"], deleted.before["agent_type"]) == ("user", "claude-code")
    assert (deleted.actor_user, deleted.after) == (alice, None)
