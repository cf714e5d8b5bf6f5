"""Client headers the proxy passes upstream are printable ASCII, or the request is a 400 in
the route's dialect (SPEC 20.2), whatever bytes arrived in them."""

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from ai_proxy.upstream import FORWARDED_HEADERS
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy


def post_raw(
    proxy: LiveProxy, path: str, body: Any, headers: dict[str, bytes], *, token: bool = True
) -> tuple[int, Any]:
    """POST with header values sent as these very bytes (httpx refuses non-ASCII values)."""
    address = urlsplit(proxy.base)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    content = json.dumps(body).encode()
    try:
        connection.putrequest("POST", f"{address.path}/{path}")
        if token:
            connection.putheader("Authorization", f"Bearer {proxy.token}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(content)))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(content)
        response = connection.getresponse()
        assert response.getheader("content-type") == "application/json"
        return response.status, json.loads(response.read())
    finally:
        connection.close()


NOT_ASCII = {"UTF-8": "café".encode(), "Latin-1": "café".encode("latin-1"), "emoji": "🚀".encode()}


@pytest.mark.parametrize("value", NOT_ASCII.values(), ids=NOT_ASCII.keys())
@pytest.mark.parametrize("name", FORWARDED_HEADERS)
def test_a_forwarded_header_that_is_not_ascii_is_a_400_in_the_anthropic_shape(
    proxy: LiveProxy, name, value
):
    status, body = post_raw(proxy, "anthropic/v1/messages", CLAUDE_MESSAGE, {name: value})

    assert status == 400
    assert body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": f"The {name} header must be printable ASCII.",
        },
    }
    assert proxy.upstream.received == []


@pytest.mark.parametrize("value", NOT_ASCII.values(), ids=NOT_ASCII.keys())
@pytest.mark.parametrize("name", FORWARDED_HEADERS)
def test_a_forwarded_header_that_is_not_ascii_is_a_400_in_the_openai_shape(
    proxy: LiveProxy, name, value
):
    status, body = post_raw(proxy, "v1/chat/completions", CHAT, {name: value})

    assert status == 400
    assert body == {
        "error": {
            "message": f"The {name} header must be printable ASCII.",
            "type": "invalid_request_error",
            "param": None,
            "code": "bad_request",
        }
    }
    assert proxy.upstream.received == []


def test_a_header_the_proxy_does_not_forward_may_hold_anything(proxy: LiveProxy):
    status, body = post_raw(proxy, "v1/chat/completions", CHAT, {"X-Title": "Équipe 🚀".encode()})

    assert status == 200
    assert body["object"] == "chat.completion"
    assert "x-title" not in proxy.upstream.last.headers


def test_printable_ascii_headers_pass_through_unchanged(proxy: LiveProxy):
    sent = {
        "anthropic-beta": b"interleaved-thinking-2025-05-14,context-1m-2025-08-07",
        "anthropic-version": b"2023-06-01",
        "User-Agent": b"claude-cli/2.0.1 (external, cli) ~!@#$%^&*()_+`{}|[]\\:\";'<>?,./",
    }

    status, _body = post_raw(proxy, "anthropic/v1/messages", CLAUDE_MESSAGE, sent)

    assert status == 200
    received = proxy.upstream.last.headers
    assert received["anthropic-beta"] == sent["anthropic-beta"].decode()
    assert received["anthropic-version"] == "2023-06-01"
    assert received["user-agent"] == sent["User-Agent"].decode()


def test_a_caller_without_a_token_learns_of_no_header_rule(proxy: LiveProxy):
    status, body = post_raw(
        proxy, "anthropic/v1/messages", CLAUDE_MESSAGE, {"anthropic-beta": b"\xff"}, token=False
    )

    assert status == 401
    assert body["error"]["type"] == "authentication_error"
