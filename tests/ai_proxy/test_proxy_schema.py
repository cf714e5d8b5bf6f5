"""The proxy's routes are in the OpenAPI schema, with their authentication and errors."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_lists_every_proxy_route_with_its_dialect_errors(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/ai/anthropic/v1/messages",
        "/ai/anthropic/v1/messages/count_tokens",
        "/ai/v1/chat/completions",
        "/ai/v1/responses",
    ):
        assert "post" in paths[path], path
    messages = paths["/ai/anthropic/v1/messages"]["post"]
    assert messages["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AnthropicError"
    }
    assert {"proxyApiKey": []} in messages["security"]
    assert "text/event-stream" in messages["responses"]["200"]["content"]
    chat = paths["/ai/v1/chat/completions"]["post"]
    assert chat["responses"]["504"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OpenAIError"
    }
    assert "get" in paths["/ai/v1/models"]
    assert schema["components"]["securitySchemes"]["proxyApiKey"]["name"] == "x-api-key"
