"""Bad requests get clear errors in the route's dialect, never a 500 (SPEC §15)."""

import httpx
import pytest

from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy


@pytest.mark.parametrize(
    "body",
    [b"", b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(proxy: LiveProxy, body):
    response = proxy.post(
        "anthropic/v1/messages", body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "The body must be a JSON object.",
    }


def test_a_number_json_cannot_carry_is_a_bad_request(proxy: LiveProxy):
    body = b'{"model": "gpt-4.1", "temperature": NaN, "messages": []}'

    response = proxy.post("v1/chat/completions", body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_body_over_the_cap_is_413_and_is_not_forwarded(proxy: LiveProxy, settings):
    settings.AI_PROXY_MAX_BODY_BYTES = 1024
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 2000}]}

    response = proxy.post("v1/chat/completions", big)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert proxy.upstream.received == []


def test_a_chunked_body_over_the_cap_is_413(proxy: LiveProxy, settings):
    settings.AI_PROXY_MAX_BODY_BYTES = 1024

    def chunks():
        for _ in range(50):
            yield b"x" * 100

    response = httpx.post(
        f"{proxy.base}/anthropic/v1/messages",
        content=chunks(),
        headers={"Authorization": f"Bearer {proxy.token}"},
    )

    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


def test_a_chunked_body_within_the_cap_is_read(proxy: LiveProxy):
    payload = httpx.Request("POST", "/", json=CLAUDE_MESSAGE).read()

    response = httpx.post(
        f"{proxy.base}/anthropic/v1/messages",
        content=iter([payload[:10], payload[10:]]),
        headers={"Authorization": f"Bearer {proxy.token}"},
    )

    assert response.status_code == 200


def test_the_forwarded_body_is_the_checked_one(proxy: LiveProxy):
    duplicate = b'{"model": "gpt-5.2", "model": "gpt-4.1", "messages": []}'

    proxy.post("v1/chat/completions", duplicate)

    assert proxy.upstream.last.body.count(b'"model"') == 1
    assert proxy.upstream.last.json()["model"] == "gpt-4.1"


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("anthropic/v1/complete", "anthropic"),
        ("anthropic/nope", "anthropic"),
        ("v1/embeddings", "openai"),
        ("v2/x", "openai"),
    ],
)
def test_an_unknown_route_is_a_404_in_its_dialect(proxy: LiveProxy, path, shape):
    response = proxy.post(path, CHAT)

    assert response.status_code == 404
    body = response.json()
    if shape == "anthropic":
        assert body == {
            "type": "error",
            "error": {"type": "not_found_error", "message": "No such endpoint."},
        }
    else:
        assert body["error"]["code"] == "not_found"


def test_a_wrong_method_is_a_405_in_the_dialect(proxy: LiveProxy):
    response = httpx.get(f"{proxy.base}/anthropic/v1/messages")

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["type"] == "error"


def test_a_bug_is_a_500_in_the_dialect_and_still_logged(proxy: LiveProxy, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr("ai_proxy.proxy.catalog_model", broken)

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 500
    assert response.json() == {
        "type": "error",
        "error": {"type": "api_error", "message": "The AI proxy failed."},
    }
    assert any(record.exc_info for record in caplog.records if record.name == "django.request")


def test_a_host_the_server_does_not_serve_is_refused_on_the_proxy(proxy: LiveProxy):
    anthropic = proxy.post(
        "anthropic/v1/messages", CLAUDE_MESSAGE, headers={"Host": "evil.example"}
    )
    openai = proxy.post("v1/chat/completions", CHAT, headers={"Host": "evil.example"})

    assert anthropic.status_code == 400
    assert anthropic.json()["type"] == "error"
    assert openai.status_code == 400
    assert openai.json()["error"]["type"] == "invalid_request_error"
    assert proxy.upstream.received == []
