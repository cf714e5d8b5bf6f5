"""Proxy settings, catalog entries and per-user limits: each change in the admin is one audit
event with the admin as actor and the fields before and after (SPEC §23)."""

import pytest

from ai_proxy.models import UserProxyLimit
from audit.models import AuditAction, AuditEvent
from catalog.models import ModelCatalogEntry, ProxySettings

pytestmark = pytest.mark.django_db

SETTINGS = "/admin/catalog/proxysettings/"
CATALOG = "/admin/catalog/modelcatalogentry/"
LIMITS = "/admin/ai_proxy/userproxylimit/"


def settings_form(**overrides):
    data = {
        "enabled": "unknown",
        "token_mode": "",
        "default_model_claude_code": "",
        "default_model_openai_codex": "",
        "default_model_opencode": "",
        "rate_limit_rpm": "",
        "daily_input_tokens": "",
        "daily_output_tokens": "",
        "daily_cost_cap_usd": "",
    }
    return {**data, **overrides}


def entry_form(**overrides):
    data = {
        "provider": "openai",
        "label": "GPT-4.1",
        "tier": "balanced",
        "input_price_per_mtok": "2",
        "output_price_per_mtok": "8",
        "cache_write_5m_price_per_mtok": "2",
        "cache_write_1h_price_per_mtok": "2",
        "cache_read_price_per_mtok": "0.5",
        "enabled": "on",
    }
    return {**data, **overrides}


def changed(event):
    return {name: (old, new) for name, old, new in event.changes() if old != new}


def test_creating_the_proxy_settings_records_every_value(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        SETTINGS + "add/", settings_form(token_mode="scoped", daily_cost_cap_usd="12.50")
    )
    assert response.status_code == 302

    event = AuditEvent.objects.get()
    assert (event.action, event.target_type, event.target_id, event.actor_user) == (
        AuditAction.CREATED,
        "catalog.proxysettings",
        "1",
        admin_user,
    )
    assert event.before is None
    assert event.after["token_mode"] == "scoped"
    assert event.after["daily_cost_cap_usd"] == "12.50"
    assert event.after["enabled"] is None
    assert "updated_at" not in event.after
    assert event.superusers_only is True


def test_changing_a_proxy_setting_records_the_value_before_and_after(client, admin_user):
    ProxySettings(rate_limit_rpm=30).save()
    client.force_login(admin_user)
    response = client.post(
        SETTINGS + "1/change/", settings_form(rate_limit_rpm="60", enabled="false")
    )
    assert response.status_code == 302

    event = AuditEvent.objects.get()
    assert event.action == AuditAction.UPDATED
    assert changed(event) == {"rate_limit_rpm": (30, 60), "enabled": (None, False)}


def test_saving_the_settings_unchanged_records_nothing(client, admin_user):
    ProxySettings(rate_limit_rpm=30).save()
    client.force_login(admin_user)
    response = client.post(SETTINGS + "1/change/", settings_form(rate_limit_rpm="30"))
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_editing_a_catalog_price_records_old_and_new_price(client, admin_user):
    ModelCatalogEntry.objects.filter(pk="gpt-4.1").update(input_price_per_mtok="2")
    client.force_login(admin_user)
    response = client.post(f"{CATALOG}gpt-4.1/change/", entry_form(input_price_per_mtok="1.5"))
    assert response.status_code == 302

    event = AuditEvent.objects.get()
    assert (event.action, event.target_type, event.target_id, event.target_label) == (
        AuditAction.UPDATED,
        "catalog.modelcatalogentry",
        "gpt-4.1",
        "gpt-4.1",
    )
    assert changed(event) == {"input_price_per_mtok": ("2.0000", "1.5000")}


def test_adding_a_catalog_model_is_a_created_event(client, admin_user):
    client.force_login(admin_user)
    response = client.post(CATALOG + "add/", {"id": "gpt-9", **entry_form(label="GPT-9")})
    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert (event.action, event.target_id, event.after["label"]) == (
        AuditAction.CREATED,
        "gpt-9",
        "GPT-9",
    )


def test_the_enable_and_disable_actions_write_one_event_per_model_they_switch(client, admin_user):
    ModelCatalogEntry.objects.filter(pk="gpt-4.1-mini").update(enabled=False)
    client.force_login(admin_user)
    client.post(CATALOG, {"action": "disable", "_selected_action": ["gpt-4.1", "gpt-4.1-mini"]})
    client.post(CATALOG, {"action": "enable", "_selected_action": ["gpt-4.1"]})

    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.target_id, changed(e)) for e in events] == [
        (AuditAction.DISABLED, "gpt-4.1", {"enabled": (True, False)}),
        (AuditAction.ENABLED, "gpt-4.1", {"enabled": (False, True)}),
    ]
    assert {e.actor_user for e in events} == {admin_user}


def test_deleting_catalog_models_one_or_in_bulk_records_each(client, admin_user):
    client.force_login(admin_user)
    client.post(f"{CATALOG}gpt-5.2/delete/", {"post": "yes"})
    client.post(
        CATALOG,
        {
            "action": "delete_selected",
            "_selected_action": ["gpt-4.1", "gpt-4.1-mini"],
            "post": "yes",
        },
    )

    deleted = AuditEvent.objects.filter(action=AuditAction.DELETED).order_by("id")
    assert deleted[0].target_id == "gpt-5.2"
    assert sorted(e.target_id for e in deleted[1:]) == ["gpt-4.1", "gpt-4.1-mini"]
    assert all(e.after is None and e.before["provider"] == "openai" for e in deleted)
    assert not ModelCatalogEntry.objects.filter(pk__in=["gpt-5.2", "gpt-4.1"]).exists()


def test_a_per_user_limit_is_audited_when_added_changed_and_deleted(client, admin_user, alice):
    client.force_login(admin_user)
    form = {
        "user": alice.pk,
        "rate_limit_rpm": "10",
        "daily_input_tokens": "",
        "daily_output_tokens": "",
        "daily_cost_cap_usd": "",
    }
    assert client.post(LIMITS + "add/", form).status_code == 302
    limit = UserProxyLimit.objects.get()
    client.post(f"{LIMITS}{limit.pk}/change/", {**form, "daily_cost_cap_usd": "5.00"})
    client.post(f"{LIMITS}{limit.pk}/delete/", {"post": "yes"})

    created, updated, deleted = AuditEvent.objects.order_by("id")
    assert (created.action, created.target_label, created.after["rate_limit_rpm"]) == (
        AuditAction.CREATED,
        "limits for alice",
        10,
    )
    assert (updated.action, changed(updated)) == (
        AuditAction.UPDATED,
        {"daily_cost_cap_usd": (None, "5.00")},
    )
    assert (deleted.action, deleted.before["user_id"], deleted.after) == (
        AuditAction.DELETED,
        alice.pk,
        None,
    )
    assert {created.superusers_only, updated.superusers_only, deleted.superusers_only} == {True}
