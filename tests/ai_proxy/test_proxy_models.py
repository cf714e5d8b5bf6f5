"""Every route serves only enabled catalog models; a request without one gets the default."""

import httpx
import pytest

from catalog.models import ModelCatalogEntry, ProxySettings
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy


def without_model(body):
    return {key: value for key, value in body.items() if key != "model"}


@pytest.mark.parametrize(
    ("path", "body", "listed"),
    [
        ("anthropic/v1/messages", CLAUDE_MESSAGE, "claude-haiku-4-5, claude-opus-4-6"),
        ("anthropic/v1/messages/count_tokens", CLAUDE_MESSAGE, "claude-sonnet-4-6"),
        ("v1/chat/completions", CHAT, "gpt-4.1, gpt-4.1-mini, gpt-5.2"),
        ("v1/responses", RESPONSE, "gpt-4.1, gpt-4.1-mini, gpt-5.2"),
    ],
)
def test_a_model_outside_the_catalog_is_refused_on_every_route(
    proxy: LiveProxy, path, body, listed
):
    response = proxy.post(path, {**body, "model": "gpt-9-ultra"})

    assert response.status_code == 400
    text = response.text
    assert "gpt-9-ultra" in text
    assert listed in text
    assert proxy.upstream.received == []


def test_the_native_anthropic_route_refuses_a_disabled_model(proxy: LiveProxy):
    ModelCatalogEntry.objects.filter(id="claude-opus-4-6").update(enabled=False)

    response = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "model": "claude-opus-4-6"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "claude-haiku-4-5, claude-sonnet-4-6" in error["message"]
    assert "claude-opus-4-6" not in error["message"].split("Available models:")[1]


def test_an_openai_model_is_refused_on_the_anthropic_route(proxy: LiveProxy):
    response = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "model": "gpt-4.1"})

    assert response.status_code == 400


def test_a_dated_snapshot_of_a_catalog_model_is_served_as_that_model(proxy: LiveProxy):
    response = proxy.post(
        "anthropic/v1/messages", {**CLAUDE_MESSAGE, "model": "claude-haiku-4-5-20251001"}
    )

    assert response.status_code == 200
    assert proxy.upstream.last.json()["model"] == "claude-haiku-4-5-20251001"


def test_a_snapshot_of_a_model_outside_the_catalog_is_refused(proxy: LiveProxy):
    response = proxy.post(
        "anthropic/v1/messages", {**CLAUDE_MESSAGE, "model": "claude-opus-9-9-20260101"}
    )

    assert response.status_code == 400
    assert proxy.upstream.received == []


@pytest.mark.parametrize("model", [42, "", ["gpt-4.1"], {"id": "gpt-4.1"}])
def test_a_model_that_is_not_a_string_is_a_bad_request(proxy: LiveProxy, model):
    response = proxy.post("v1/chat/completions", {**CHAT, "model": model})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(
    ("path", "body", "default"),
    [
        ("anthropic/v1/messages", CLAUDE_MESSAGE, "claude-sonnet-4-6"),
        ("v1/chat/completions", CHAT, "gpt-4.1-mini"),
        ("v1/responses", RESPONSE, "gpt-4.1"),
    ],
)
def test_a_request_without_a_model_gets_the_default_of_the_routes_agent(
    proxy: LiveProxy, path, body, default
):
    response = proxy.post(path, without_model(body))

    assert response.status_code == 200
    assert proxy.upstream.last.json()["model"] == default


def test_an_admin_default_model_applies_to_requests_without_a_model(proxy: LiveProxy):
    ProxySettings.objects.create(default_model_claude_code="claude-haiku-4-5")

    proxy.post("anthropic/v1/messages", without_model(CLAUDE_MESSAGE))

    assert proxy.upstream.last.json()["model"] == "claude-haiku-4-5"


def test_an_environment_default_outside_the_catalog_is_refused_not_forwarded(
    proxy: LiveProxy, settings
):
    settings.AI_PROXY_DEFAULT_OPENAI_MODEL = "gpt-retired"

    response = proxy.post("v1/responses", without_model(RESPONSE))

    assert response.status_code == 400
    assert "gpt-retired" in response.json()["error"]["message"]


def test_the_model_list_follows_the_catalog(proxy: LiveProxy):
    ModelCatalogEntry.objects.filter(id__in=["gpt-5.2", "claude-opus-4-6"]).update(enabled=False)
    ModelCatalogEntry.objects.create(id="local-coder", provider="openai-compatible", label="x")

    response = httpx.get(
        f"{proxy.base}/v1/models", headers={"Authorization": f"Bearer {proxy.token}"}
    )

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == [
        "claude-haiku-4-5",
        "claude-sonnet-4-6",
        "gpt-4.1",
        "gpt-4.1-mini",
        "local-coder",
    ]
    assert response.json()["object"] == "list"


def test_an_openai_compatible_model_goes_to_the_compatible_upstream_with_its_key(
    proxy: LiveProxy, settings, fake_upstream
):
    ModelCatalogEntry.objects.create(id="local-coder", provider="openai-compatible", label="x")
    settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM = f"{fake_upstream.url}/v1"
    settings.AI_PROXY_OPENAI_UPSTREAM = "http://127.0.0.1:9/v1"  # must not be used
    settings.AI_PROXY_OPENAI_COMPATIBLE_API_KEY = "sk-compatible-key-0000000000000000"

    completion = proxy.openai().chat.completions.create(**{**CHAT, "model": "local-coder"})

    assert completion.choices[0].message.content == "Echo: hello proxy"
    assert (
        proxy.upstream.last.headers["authorization"] == "Bearer sk-compatible-key-0000000000000000"
    )


def test_an_openai_compatible_model_without_its_own_upstream_uses_openai_and_its_key(
    proxy: LiveProxy,
):
    ModelCatalogEntry.objects.create(id="local-coder", provider="openai-compatible", label="x")

    response = proxy.post("v1/chat/completions", {**CHAT, "model": "local-coder"})

    assert response.status_code == 200
    assert proxy.upstream.last.headers["authorization"].startswith("Bearer sk-proj-env-")
