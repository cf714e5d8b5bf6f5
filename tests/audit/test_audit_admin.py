"""The audit trail in the admin: read-only, filterable by action, target type, actor and
date, and what only superusers may see (platform keys, proxy settings, the catalog,
per-user limits) stays theirs."""

from datetime import UTC, datetime

import pytest

from ai_proxy.models import UserProxyLimit
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record, audit_snapshot
from catalog.models import ModelCatalogEntry, ProxySettings
from credentials.models import Scope
from tests.support import CLAUDE_KEY, CLAUDE_PLATFORM_KEY, add_credential
from workspaces.tokens import callback_token_mint

pytestmark = pytest.mark.django_db

EVENTS = "/admin/audit/auditevent/"


def listed(response):
    """The target labels of the events the list page shows."""
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    return sorted(event.target_label for event in rows)


@pytest.fixture
def one_of_each(admin_user, alice, ws):
    """An event for each kind of target, by different actors."""
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    callback_token_mint(workspace=ws.workspace, actor_user=admin_user)
    settings_row = ProxySettings(rate_limit_rpm=10)
    settings_row.save()
    for target, fields in (
        (settings_row, ProxySettings.AUDIT_FIELDS),
        (ModelCatalogEntry.objects.get(pk="gpt-4.1"), ModelCatalogEntry.AUDIT_FIELDS),
        (UserProxyLimit.objects.create(user=alice, rate_limit_rpm=5), UserProxyLimit.AUDIT_FIELDS),
    ):
        audit_record(
            action=AuditAction.UPDATED,
            target=target,
            after=audit_snapshot(target, fields),
            actor_user=admin_user,
            superusers_only=True,
        )


ALL = sorted(
    [
        "User claude-code api-key …AAAA of alice",
        "Platform claude-code api-key …CCCC (primary)",
        "AI proxy settings",
        "gpt-4.1",
        "limits for alice",
    ]
)


def test_a_superuser_sees_every_event(client, admin_user, one_of_each, ws):
    client.force_login(admin_user)
    labels = listed(client.get(EVENTS))
    assert [label for label in labels if not label.startswith("callback")] == ALL
    assert len(labels) == 6


def test_staff_see_user_key_and_token_events_but_not_what_is_for_superusers(
    client, staff_user, one_of_each, ws
):
    client.force_login(staff_user)
    labels = listed(client.get(EVENTS))
    assert len(labels) == 2
    assert labels[0] == "User claude-code api-key …AAAA of alice"
    assert labels[1].startswith("callback sam_cb_")
    for hidden in AuditEvent.objects.filter(superusers_only=True):
        response = client.get(f"{EVENTS}{hidden.pk}/change/")
        assert response.status_code == 302  # "does not exist": the admin sends them home
        assert hidden.target_label not in client.get(response["Location"]).content.decode()


def test_staff_without_the_audit_permission_cannot_open_it(client, alice, one_of_each):
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    assert client.get(EVENTS).status_code == 403


def test_the_trail_is_read_only(client, admin_user, one_of_each):
    event = AuditEvent.objects.filter(target_label="AI proxy settings").get()
    client.force_login(admin_user)
    page = client.get(f"{EVENTS}{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<th scope="row">rate_limit_rpm</th><td>—</td><td>10</td>' in html
    assert 'name="_save"' not in html
    assert client.get(EVENTS + "add/").status_code == 403
    assert client.post(f"{EVENTS}{event.pk}/change/", {"action": "x"}).status_code == 403
    assert client.post(f"{EVENTS}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert 'value="delete_selected"' not in client.get(EVENTS).content.decode()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_list_filters_by_action(client, admin_user, one_of_each):
    client.force_login(admin_user)
    labels = listed(client.get(EVENTS, {"action__exact": "updated"}))
    assert labels == ["AI proxy settings", "gpt-4.1", "limits for alice"]


def test_the_list_filters_by_target_type_named_as_people_read_it(client, admin_user, one_of_each):
    client.force_login(admin_user)
    page = client.get(EVENTS)
    choices = {
        choice["display"]
        for spec in page.context["cl"].filter_specs
        for choice in spec.choices(page.context["cl"])
    }
    assert {
        "credential",
        "catalog model",
        "proxy settings",
        "per-user proxy limit",
        "workspace token",
        "workspace",
    } <= choices
    labels = listed(client.get(EVENTS, {"target_type": "credentials.credential"}))
    assert labels == [
        "Platform claude-code api-key …CCCC (primary)",
        "User claude-code api-key …AAAA of alice",
    ]


def test_the_list_filters_by_actor_kind_and_by_actor(client, admin_user, one_of_each, ws):
    client.force_login(admin_user)
    by_system = listed(client.get(EVENTS, {"actor_kind__exact": "system"}))
    assert by_system == [
        "Platform claude-code api-key …CCCC (primary)",
        "User claude-code api-key …AAAA of alice",
    ]
    by_admin = listed(client.get(EVENTS, {"actor_user__id__exact": admin_user.pk}))
    assert len(by_admin) == 4
    assert "User claude-code api-key …AAAA of alice" not in by_admin
    by_name = listed(client.get(EVENTS, {"q": "alice"}))
    assert by_name == ["User claude-code api-key …AAAA of alice", "limits for alice"]


def test_the_list_filters_by_date(client, admin_user, one_of_each):
    AuditEvent.objects.filter(target_label="gpt-4.1").update(
        created_at=datetime(2025, 6, 1, 12, tzinfo=UTC)
    )
    client.force_login(admin_user)
    in_june = client.get(
        EVENTS, {"created_at__year": "2025", "created_at__month": "6", "created_at__day": "1"}
    )
    assert listed(in_june) == ["gpt-4.1"]
    since = listed(client.get(EVENTS, {"created_at__gte": "2025-06-02 00:00:00+00:00"}))
    assert "gpt-4.1" not in since
    assert "AI proxy settings" in since


def test_a_credential_page_links_to_its_whole_trail(client, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=admin_user)
    client.force_login(admin_user)
    page = client.get(f"/admin/credentials/usercredential/{credential.pk}/change/")
    link = f"{EVENTS}?target_type=credentials.credential&amp;target_id={credential.pk}"
    assert link in page.content.decode()

    trail = client.get(link.replace("&amp;", "&"))
    assert [e.target_id for e in trail.context["cl"].result_list] == [str(credential.pk)]
