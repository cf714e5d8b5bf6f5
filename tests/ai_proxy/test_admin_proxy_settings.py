from decimal import Decimal

import pytest

from catalog.config import stored_config
from catalog.models import ModelCatalogEntry, ProxySettings
from tests.support import post_json

pytestmark = pytest.mark.django_db

PAGE = "/admin/catalog/proxysettings/"
CATALOG = "/admin/catalog/modelcatalogentry/"


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


def squeeze(html):
    return "".join(html.split())


def in_force_row(html, name):
    """The "values in force" row of one setting, whitespace removed: name, value, layer."""
    start = squeeze(html).index(f'<thscope="row">{"".join(name.split())}</th>')
    return squeeze(html)[start : squeeze(html).index("</tr>", start)]


@pytest.mark.parametrize(
    "page",
    [PAGE, PAGE + "add/", CATALOG, "/admin/ai_proxy/userproxylimit/"],
)
def test_staff_cannot_open_proxy_settings_catalog_or_limits(client, staff_user, page):
    assert staff_user.has_perm("catalog.change_proxysettings")
    client.force_login(staff_user)
    assert client.get(page).status_code == 403


def test_the_settings_list_opens_the_one_row(client, admin_user):
    client.force_login(admin_user)
    assert client.get(PAGE)["Location"] == PAGE + "add/"
    ProxySettings().save()
    assert client.get(PAGE)["Location"] == PAGE + "1/change/"
    assert client.get(PAGE + "add/").status_code == 403


def test_with_nothing_set_every_value_is_built_in(client, admin_user):
    ProxySettings().save()
    client.force_login(admin_user)
    html = client.get(PAGE + "1/change/").content.decode()
    assert "layer-built-in" in in_force_row(html, "Proxy enabled")
    assert ">on<" in in_force_row(html, "Proxy enabled")
    assert ">claude-sonnet-4-6<" in in_force_row(html, "Default model: Claude Code")
    assert ">30<" in in_force_row(html, "Requests per minute")
    assert "layer-admin" not in squeeze(html)


def test_env_values_show_as_env_and_admin_values_as_admin(client, admin_user, settings):
    settings.AI_PROXY_RATE_LIMIT_RPM = 60
    settings.AI_PROXY_DEFAULT_OPENAI_MODEL = "gpt-5.2"
    client.force_login(admin_user)
    response = client.post(
        PAGE + "add/", settings_form(daily_input_tokens="1000", token_mode="scoped")
    )
    assert response.status_code == 302
    html = client.get(PAGE + "1/change/").content.decode()
    assert ">60<" in in_force_row(html, "Requests per minute")
    assert "layer-env" in in_force_row(html, "Requests per minute")
    assert ">gpt-5.2<" in in_force_row(html, "Default model: Codex")
    assert "layer-env" in in_force_row(html, "Default model: Codex")
    assert ">1000<" in in_force_row(html, "Daily input tokens")
    assert "layer-admin" in in_force_row(html, "Daily input tokens")
    assert "layer-admin" in in_force_row(html, "Token mode")


def test_an_admin_default_model_from_the_catalog_is_what_workspaces_get(
    client, admin_user, alice, ws
):
    client.force_login(admin_user)
    response = client.post(
        PAGE + "add/", settings_form(default_model_claude_code="claude-haiku-4-5")
    )
    assert response.status_code == 302
    body = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token).json()
    assert body["inferenceConfig"]["model"] == "claude-haiku-4-5"
    html = client.get(PAGE + "1/change/").content.decode()
    assert "layer-admin" in in_force_row(html, "Default model: Claude Code")


def test_a_default_model_that_is_not_an_enabled_catalog_entry_is_refused(client, admin_user):
    ModelCatalogEntry.objects.filter(pk="claude-opus-4-6").update(enabled=False)
    client.force_login(admin_user)
    for value in ("claude-opus-4-6", "claude-made-up-1"):
        response = client.post(PAGE + "add/", settings_form(default_model_claude_code=value))
        assert response.status_code == 200
        assert f"{value} is not an enabled catalog model that Claude Code can use" in (
            response.content.decode()
        )
    assert not ProxySettings.objects.exists()


def test_a_model_another_route_serves_is_refused_for_that_agent(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        PAGE + "add/", settings_form(default_model_openai_codex="claude-haiku-4-5")
    )
    assert response.status_code == 200
    assert "not an enabled catalog model that Codex can use" in response.content.decode()
    # OpenCode reaches Claude models through the chat completions translation.
    response = client.post(PAGE + "add/", settings_form(default_model_opencode="claude-haiku-4-5"))
    assert response.status_code == 302


def test_a_default_that_left_the_catalog_is_flagged_and_ignored(client, admin_user, ws):
    ProxySettings(default_model_claude_code="claude-opus-4-6").save()
    client.force_login(admin_user)
    client.post(CATALOG, {"action": "disable", "_selected_action": ["claude-opus-4-6"]})

    html = client.get(PAGE + "1/change/").content.decode()
    assert "claude-opus-4-6: no longer available (ignored)" in html
    row = in_force_row(html, "Default model: Claude Code")
    assert ">claude-sonnet-4-6<" in row
    assert "layer-built-in" in row
    assert "nolongeravailable" in row
    body = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token).json()
    assert body["inferenceConfig"]["model"] == "claude-sonnet-4-6"


def test_a_stale_default_does_not_block_switching_the_proxy_off(client, admin_user, ws):
    ProxySettings(default_model_claude_code="claude-opus-4-6").save()
    ModelCatalogEntry.objects.get(pk="claude-opus-4-6").delete()
    client.force_login(admin_user)
    response = client.post(
        PAGE + "1/change/",
        settings_form(enabled="false", default_model_claude_code="claude-opus-4-6"),
    )
    assert response.status_code == 302
    assert ProxySettings.objects.get().enabled is False
    assert post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token).status_code == 404


def test_disabling_a_catalog_model_drops_the_cached_configuration(client, admin_user):
    assert "gpt-5.2" in stored_config().catalog
    client.force_login(admin_user)
    response = client.post(
        CATALOG, {"action": "disable", "_selected_action": ["gpt-5.2"]}, follow=True
    )
    assert "Disabled 1 model(s)." in response.content.decode()
    assert "gpt-5.2" not in stored_config().catalog
    client.post(CATALOG, {"action": "enable", "_selected_action": ["gpt-5.2"]})
    assert "gpt-5.2" in stored_config().catalog


def test_disabling_the_admin_default_warns_that_it_is_now_ignored(client, admin_user):
    ProxySettings(default_model_opencode="gpt-4.1").save()
    client.force_login(admin_user)
    response = client.post(
        CATALOG, {"action": "disable", "_selected_action": ["gpt-4.1"]}, follow=True
    )
    assert "Admin choice gpt-4.1 is no longer available; it is ignored." in (
        response.content.decode()
    )


def test_the_catalog_edits_prices_as_a_superuser(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        f"{CATALOG}gpt-4.1/change/",
        {
            "provider": "openai",
            "label": "GPT-4.1",
            "tier": "balanced",
            "input_price_per_mtok": "1.5",
            "output_price_per_mtok": "6",
            "cache_write_5m_price_per_mtok": "1.5",
            "cache_write_1h_price_per_mtok": "1.5",
            "cache_read_price_per_mtok": "0.375",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    entry = stored_config().catalog["gpt-4.1"]
    assert (entry.input_price_per_mtok, entry.cache_read_price_per_mtok) == (1.5, Decimal("0.375"))


def test_deleting_catalog_models_in_bulk_drops_the_cached_configuration(client, admin_user):
    assert "gpt-5.2" in stored_config().catalog
    client.force_login(admin_user)
    response = client.post(
        CATALOG, {"action": "delete_selected", "_selected_action": ["gpt-5.2"], "post": "yes"}
    )
    assert response.status_code == 302
    assert not ModelCatalogEntry.objects.filter(pk="gpt-5.2").exists()
    assert "gpt-5.2" not in stored_config().catalog
