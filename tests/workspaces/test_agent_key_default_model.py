"""The proxy fallback's model: admin choice > environment > catalog constant (SPEC §7)."""

import pytest

from catalog.models import ModelCatalogEntry, ProxySettings
from tests.support import post_json

pytestmark = pytest.mark.django_db

# agent → (admin choice, env setting, env choice, built-in)
CASES = {
    "claude-code": (
        "claude-opus-4-6",
        "AI_PROXY_DEFAULT_ANTHROPIC_MODEL",
        "claude-haiku-4-5",
        "claude-sonnet-4-6",
    ),
    "openai-codex": ("gpt-5.2", "AI_PROXY_DEFAULT_OPENAI_MODEL", "gpt-4.1-mini", "gpt-4.1"),
    "opencode": ("claude-sonnet-4-6", "AI_PROXY_DEFAULT_MODEL", "gpt-4.1", "gpt-4.1-mini"),
}


def fallback_model(client, ws, agent):
    response = post_json(client, ws.url(), {"agentType": agent}, ws.token)
    assert response.status_code == 200
    return response.json()["inferenceConfig"]["model"]


def set_admin_default(agent, model):
    row = ProxySettings.objects.filter(pk=1).first() or ProxySettings()
    setattr(row, ProxySettings.default_model_field(agent), model)
    row.save()


@pytest.mark.parametrize("agent", CASES)
def test_without_admin_or_env_choice_the_catalog_constant_is_used(client, ws, agent):
    assert fallback_model(client, ws, agent) == CASES[agent][3]


@pytest.mark.parametrize("agent", CASES)
def test_an_env_choice_beats_the_catalog_constant(client, ws, settings, agent):
    _admin, setting, env_choice, _builtin = CASES[agent]
    setattr(settings, setting, env_choice)
    assert fallback_model(client, ws, agent) == env_choice


@pytest.mark.parametrize("agent", CASES)
def test_an_admin_choice_beats_the_env_choice(client, ws, settings, agent):
    admin_choice, setting, env_choice, _builtin = CASES[agent]
    setattr(settings, setting, env_choice)
    fallback_model(client, ws, agent)  # the configuration snapshot is now cached
    set_admin_default(agent, admin_choice)
    assert fallback_model(client, ws, agent) == admin_choice


@pytest.mark.parametrize("agent", CASES)
def test_an_admin_choice_that_left_the_catalog_is_ignored(client, ws, settings, agent):
    admin_choice, setting, env_choice, builtin = CASES[agent]
    set_admin_default(agent, admin_choice)
    assert fallback_model(client, ws, agent) == admin_choice
    entry = ModelCatalogEntry.objects.get(pk=admin_choice)
    entry.enabled = False
    entry.save()
    assert fallback_model(client, ws, agent) == builtin
    setattr(settings, setting, env_choice)
    assert fallback_model(client, ws, agent) == env_choice
