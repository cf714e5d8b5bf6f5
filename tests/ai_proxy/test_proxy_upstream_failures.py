"""What the client sees when the upstream refuses, fails, hangs or cannot be reached, and
when the platform has no usable key (SPEC §9 errors)."""

import time

import anthropic
import httpx
import openai
import pytest

from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy
from tests.fakes.behaviours import PromptTooLong, RateLimited, Reply
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import Fail, Hang, refused_url
from tests.support import CLAUDE_PLATFORM_KEY, add_credential


def test_an_upstream_refusal_reaches_the_client_as_the_provider_sent_it(proxy: LiveProxy):
    proxy.upstream.answer_next(
        Fail(
            400,
            "invalid_request_error",
            message="prompt is too long: 210000 tokens > 200000 maximum",
            headers={"x-internal": "not for clients"},
        )
    )

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 210000 tokens > 200000 maximum",
        },
    }
    assert response.headers["request-id"] == proxy.upstream.last.request_id
    assert "x-internal" not in response.headers


def test_an_upstream_rate_limit_passes_its_type_and_retry_after_on(proxy: LiveProxy, one_try):
    proxy.upstream.answer_next(
        Fail(
            429,
            "rate_limit_error",
            headers={
                "retry-after": "7",
                "anthropic-ratelimit-tokens-reset": "2026-12-01T12:00:07Z",
            },
        )
    )

    with pytest.raises(anthropic.RateLimitError) as raised:
        proxy.anthropic().messages.create(**CLAUDE_MESSAGE)

    assert raised.value.response.headers["retry-after"] == "7"
    assert (
        raised.value.response.headers["anthropic-ratelimit-tokens-reset"] == "2026-12-01T12:00:07Z"
    )
    assert raised.value.response.json()["error"]["type"] == "rate_limit_error"


def test_an_openai_error_reaches_the_sdk_with_its_code_and_message(proxy: LiveProxy):
    proxy.upstream.answer_next(
        Fail(400, "invalid_request_error", code="context_length_exceeded", message="too long: 9")
    )

    with pytest.raises(openai.BadRequestError) as raised:
        proxy.openai().responses.create(**RESPONSE)

    assert raised.value.code == "context_length_exceeded"
    assert "too long: 9" in raised.value.message


def test_an_upstream_error_that_is_not_json_is_passed_on_as_it_came(proxy: LiveProxy, settings):
    settings.AI_PROXY_OPENAI_UPSTREAM = f"{proxy.upstream.url}/not-an-api"

    response = proxy.post("v1/chat/completions", CHAT)

    assert response.status_code == 404
    assert response.json() == {"error": {"type": "not_found_error", "message": "?"}}


def test_an_upstream_refusal_body_is_never_logged(proxy: LiveProxy, caplog, one_try):
    proxy.upstream.answer_next(Fail(500, "api_error", message="internal detail: org-123"))

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 500

    assert "org-123" not in caplog.text


def test_a_refused_connection_is_a_502(proxy: LiveProxy, settings):
    settings.AI_PROXY_ANTHROPIC_UPSTREAM = refused_url()

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 502
    assert response.json()["error"]["type"] == "api_error"
    assert "could not be reached" in response.json()["error"]["message"]


def test_a_hung_upstream_is_a_504_within_the_read_timeout_and_is_let_go(proxy: LiveProxy, settings):
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    proxy.upstream.answer_next(Hang())

    started = time.monotonic()
    response = proxy.post("v1/chat/completions", CHAT)

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert time.monotonic() - started < 3
    assert proxy.upstream.wait_for_disconnect(timeout=5)


def test_an_upstream_that_stalls_mid_stream_ends_it_with_an_error_event(proxy: LiveProxy, settings):
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    proxy.upstream.answer_next(Hang(after_chunks=4))

    with (
        proxy.anthropic().messages.stream(**CLAUDE_MESSAGE) as stream,
        pytest.raises(anthropic.APIStatusError) as raised,
    ):
        stream.until_done()

    assert raised.value.type == "timeout_error"


def test_an_openai_stream_that_stalls_raises_in_the_sdk(proxy: LiveProxy, settings):
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    proxy.upstream.answer_next(Hang(after_chunks=2))

    with pytest.raises(openai.APIError) as raised:
        list(proxy.openai().chat.completions.create(**CHAT, stream=True))

    assert "did not answer in time" in raised.value.message


def test_no_platform_key_is_a_503_that_names_no_secret(proxy: LiveProxy, settings):
    settings.AI_PROXY_ANTHROPIC_API_KEY = ""

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 503
    error = response.json()["error"]
    assert error == {
        "type": "api_error",
        "message": "The platform has no API key for the anthropic provider; an admin must add one.",
    }
    assert proxy.upstream.received == []


def test_an_unreadable_platform_credential_is_a_503_and_nothing_is_sent(
    proxy: LiveProxy, settings, caplog
):
    credential = add_credential("platform", "claude-code", CLAUDE_PLATFORM_KEY)
    settings.CREDENTIAL_ENCRYPTION_KEYS = "k9:" + "9" * 64

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 503
    assert response.json()["error"]["type"] == "api_error"
    assert "cannot be decrypted" in response.json()["error"]["message"]
    assert proxy.upstream.received == []
    unreadable = [r for r in caplog.records if r.getMessage() == "credential.unreadable"]
    assert unreadable[0].credential_id == credential.pk


def test_an_oauth_platform_credential_is_not_used_as_an_api_key(proxy: LiveProxy):
    add_credential(
        "platform", "claude-code", "sk-ant-oat01-platform-oauth-00000000", kind="oauth-token"
    )

    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert proxy.upstream.last.headers["x-api-key"] == ENV_ANTHROPIC_KEY


def test_a_worker_picks_up_a_new_platform_key_once_its_cached_key_expires(
    proxy: LiveProxy, settings
):
    settings.AI_PROXY_KEY_CACHE_SECONDS = 0.3
    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)
    add_credential("platform", "claude-code", CLAUDE_PLATFORM_KEY)

    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)
    time.sleep(0.4)
    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    keys = [call.headers["x-api-key"] for call in proxy.upstream.received]
    assert keys == [ENV_ANTHROPIC_KEY, ENV_ANTHROPIC_KEY, CLAUDE_PLATFORM_KEY]


def test_an_upstream_5xx_is_answered_as_json_even_to_a_streaming_request(proxy: LiveProxy):
    proxy.upstream.answer_next(Fail(529, "overloaded_error"))

    response = httpx.post(
        f"{proxy.base}/anthropic/v1/messages",
        json={**CLAUDE_MESSAGE, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
    )

    assert response.status_code == 529
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "overloaded_error"


def test_the_first_platform_key_an_admin_adds_works_at_once(proxy: LiveProxy, settings):
    settings.AI_PROXY_ANTHROPIC_API_KEY = ""
    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 503

    add_credential("platform", "claude-code", CLAUDE_PLATFORM_KEY)

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200
    assert proxy.upstream.last.headers["x-api-key"] == CLAUDE_PLATFORM_KEY


def test_prompt_too_long_reaches_the_anthropic_sdk_in_the_providers_words(proxy: LiveProxy):
    proxy.upstream.answer_next(PromptTooLong(tokens=210_000))

    with pytest.raises(anthropic.BadRequestError) as raised:
        proxy.anthropic().messages.create(**CLAUDE_MESSAGE)

    assert "prompt is too long: 210000 tokens > 200000 maximum" in str(raised.value)


def test_context_length_exceeded_reaches_the_openai_sdk_in_the_providers_words(proxy: LiveProxy):
    proxy.upstream.answer_next(PromptTooLong(tokens=210_000))

    with pytest.raises(openai.BadRequestError) as raised:
        proxy.openai().chat.completions.create(**CHAT)

    assert raised.value.code == "context_length_exceeded"
    assert "210000" in raised.value.message


@pytest.mark.parametrize("client", ["anthropic", "openai"])
def test_a_rate_limited_key_reaches_both_sdks_with_retry_after_and_its_headers(
    proxy: LiveProxy, client, one_try
):
    proxy.upstream.answer_next(RateLimited(retry_after=7))

    def call() -> object:
        if client == "anthropic":
            return proxy.anthropic().messages.create(**CLAUDE_MESSAGE)
        return proxy.openai().chat.completions.create(**CHAT)

    with pytest.raises((anthropic.RateLimitError, openai.RateLimitError)) as raised:
        call()

    error = raised.value
    assert isinstance(error, anthropic.RateLimitError | openai.RateLimitError)
    headers = error.response.headers
    assert headers["retry-after"] == "7"
    prefix = "anthropic-ratelimit-" if client == "anthropic" else "x-ratelimit-"
    assert any(name.startswith(prefix) for name in headers)


def test_an_error_event_mid_stream_is_relayed_as_the_provider_sent_it(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(error_after=2))

    response = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "stream": True})

    assert response.status_code == 200
    assert b"event: error" in response.content
    assert b"message_stop" not in response.content


@pytest.mark.parametrize("failure", ["error event", "silence"])
def test_a_translated_stream_ends_with_exactly_one_done_whatever_happens(
    proxy: LiveProxy, settings, failure
):
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    text = "one two three four five six"
    proxy.upstream.answer_next(
        Reply(text=text, error_after=2) if failure == "error event" else Hang(after_chunks=4)
    )
    body = {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }

    response = proxy.post("v1/chat/completions", body)

    events = [line for line in response.text.splitlines() if line.startswith("data:")]
    assert events.count("data: [DONE]") == 1
    assert events[-1] == "data: [DONE]"
    assert '"error"' in events[-2]
