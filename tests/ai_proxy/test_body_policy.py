"""What a request on the platform's shared key may ask of its account (SPEC 20.2): each rule
of `catalog.policy.RULES`, through the live proxy."""

import json

import pytest

from ai_proxy.runtime import runtime_reset
from catalog.models import ProxySettings
from catalog.policy import RULES
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy
from tests.support import make_workspace


@pytest.mark.parametrize(
    ("path", "body"), [("v1/responses", RESPONSE), ("v1/chat/completions", CHAT)]
)
def test_store_is_forced_off_on_the_platform_key(proxy: LiveProxy, path, body):
    response = proxy.post(path, {**body, "store": True})

    assert response.status_code == 200
    assert proxy.upstream.last.json()["store"] is False


def test_a_request_without_store_is_sent_as_it_came(proxy: LiveProxy):
    assert proxy.post("v1/responses", RESPONSE).status_code == 200

    assert "store" not in proxy.upstream.last.json()


def test_a_workspace_continues_its_own_responses_and_no_one_elses(proxy: LiveProxy, bob):
    created = proxy.post("v1/responses", RESPONSE).json()["id"]
    bobs_token = make_workspace(bob).proxy_token()

    own = proxy.post("v1/responses", {**RESPONSE, "previous_response_id": created})
    other = proxy.post(
        "v1/responses", {**RESPONSE, "previous_response_id": created}, token=bobs_token
    )
    unknown = proxy.post("v1/responses", {**RESPONSE, "previous_response_id": "resp_made_up"})

    assert own.status_code == 200
    assert (other.status_code, unknown.status_code) == (400, 400)
    assert "previous_response_id" in other.json()["error"]["message"]
    assert len(proxy.upstream.received) == 2  # neither refusal reached the provider


def test_a_streamed_response_can_be_continued_too(proxy: LiveProxy):
    streamed = proxy.post("v1/responses", {**RESPONSE, "stream": True})
    events = [
        json.loads(line[5:]) for line in streamed.text.splitlines() if line.startswith("data:")
    ]
    response_id = next(e["response"]["id"] for e in events if e["type"] == "response.created")

    follow_up = proxy.post("v1/responses", {**RESPONSE, "previous_response_id": response_id})

    assert follow_up.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "tier"),
    [
        ("v1/responses", RESPONSE, "priority"),
        ("v1/chat/completions", CHAT, "flex"),
        ("anthropic/v1/messages", CLAUDE_MESSAGE, "priority"),
    ],
)
def test_a_dearer_service_tier_is_refused(proxy: LiveProxy, path, body, tier):
    response = proxy.post(path, {**body, "service_tier": tier})

    assert response.status_code == 400
    assert "service_tier" in response.text
    assert proxy.upstream.received == []


@pytest.mark.parametrize(
    ("path", "body", "tier"),
    [("v1/responses", RESPONSE, "default"), ("anthropic/v1/messages", CLAUDE_MESSAGE, "auto")],
)
def test_the_default_tiers_pass(proxy: LiveProxy, path, body, tier):
    assert proxy.post(path, {**body, "service_tier": tier}).status_code == 200


MCP = [{"type": "url", "url": "https://mcp.example/sse", "name": "example"}]


@pytest.mark.parametrize(
    ("field", "value", "allow"),
    [("mcp_servers", MCP, "allow_mcp_servers"), ("container", "container_011", "allow_container")],
)
def test_anthropic_tools_beyond_the_request_need_the_admins_leave(
    proxy: LiveProxy, field, value, allow
):
    refused = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, field: value})
    ProxySettings(**{allow: True}).save()
    runtime_reset()  # the worker's copy of the settings, which it keeps for a second
    allowed = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, field: value})

    assert refused.status_code == 400
    assert field in refused.json()["error"]["message"]
    assert allowed.status_code == 200
    assert proxy.upstream.last.json()[field] == value


def test_every_rule_of_the_table_is_tested_here():
    tested = {"store", "previous_response_id", "service_tier", "mcp_servers", "container"}
    assert {rule.field for rule in RULES} == tested


def test_the_admin_shows_the_policy_table(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/catalog/proxysettings/add/").content.decode()

    for rule in RULES:
        assert f"<code>{rule.field}</code>" in page
