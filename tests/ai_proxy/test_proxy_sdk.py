"""The official SDKs, pointed at the proxy, get the provider's answers on every route."""

from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE, LiveProxy
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY
from tests.support import CLAUDE_PLATFORM_KEY, OPENAI_PLATFORM_KEY, add_credential


def test_the_anthropic_sdk_gets_a_message(proxy: LiveProxy):
    message = proxy.anthropic().messages.create(**CLAUDE_MESSAGE)

    assert message.content[0].text == "Echo: hello proxy"
    assert message.model == "claude-haiku-4-5"
    assert proxy.upstream.last.path == "/v1/messages"


def test_the_anthropic_sdk_streams_a_message(proxy: LiveProxy):
    with proxy.anthropic().messages.stream(**CLAUDE_MESSAGE) as stream:
        text = stream.get_final_text()
        final = stream.get_final_message()

    assert text == "Echo: hello proxy"
    assert final.usage.output_tokens == 3
    assert proxy.upstream.last.json()["stream"] is True


def test_the_anthropic_sdk_counts_tokens(proxy: LiveProxy):
    count = proxy.anthropic().messages.count_tokens(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": "four words right here"}]
    )

    assert count.input_tokens == 4
    assert proxy.upstream.last.path == "/v1/messages/count_tokens"


def test_the_beta_route_keeps_its_query_string_and_beta_header(proxy: LiveProxy):
    # As Claude Code calls it: POST /v1/messages?beta=true with anthropic-beta.
    message = proxy.anthropic().beta.messages.create(
        **CLAUDE_MESSAGE, betas=["interleaved-thinking-2025-05-14"], extra_query={"beta": "true"}
    )

    assert message.content[0].text == "Echo: hello proxy"
    received = proxy.upstream.last
    assert received.query == "beta=true"
    assert received.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert received.headers["anthropic-version"]


def test_an_anthropic_client_may_send_the_token_as_x_api_key(proxy: LiveProxy):
    response = proxy.post(
        "anthropic/v1/messages", CLAUDE_MESSAGE, token="", headers={"x-api-key": proxy.token}
    )

    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "Echo: hello proxy"


def test_the_upstream_gets_the_platform_key_and_never_the_workspace_token(proxy: LiveProxy):
    proxy.anthropic().messages.create(**CLAUDE_MESSAGE)
    proxy.openai().chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
    )

    anthropic_call, openai_call = proxy.upstream.received
    assert anthropic_call.headers["x-api-key"] == ENV_ANTHROPIC_KEY
    assert "authorization" not in anthropic_call.headers
    assert openai_call.headers["authorization"] == f"Bearer {ENV_OPENAI_KEY}"
    for call in (anthropic_call, openai_call):
        assert proxy.token not in str(call.headers)
        assert proxy.token.encode() not in call.body
        assert "cookie" not in call.headers
        assert call.headers["accept-encoding"] == "identity"


def test_an_active_platform_credential_beats_the_environment_key(proxy: LiveProxy):
    add_credential("platform", "claude-code", CLAUDE_PLATFORM_KEY)
    add_credential("platform", "openai-codex", OPENAI_PLATFORM_KEY)

    proxy.anthropic().messages.create(**CLAUDE_MESSAGE)
    proxy.openai().responses.create(model="gpt-4.1", input="hi")

    anthropic_call, openai_call = proxy.upstream.received
    assert anthropic_call.headers["x-api-key"] == CLAUDE_PLATFORM_KEY
    assert openai_call.headers["authorization"] == f"Bearer {OPENAI_PLATFORM_KEY}"


def test_the_openai_sdk_gets_a_chat_completion(proxy: LiveProxy):
    completion = proxy.openai().chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hello chat"}]
    )

    assert completion.choices[0].message.content == "Echo: hello chat"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 5
    assert proxy.upstream.last.path == "/v1/chat/completions"


def test_the_openai_sdk_streams_a_chat_completion_with_its_usage_chunk(proxy: LiveProxy):
    chunks = list(
        proxy.openai().chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": "hello chat stream"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello chat stream"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


def test_the_openai_sdk_gets_a_response(proxy: LiveProxy):
    response = proxy.openai().responses.create(model="gpt-4.1", input="hello codex")

    assert response.output_text == "Echo: hello codex"
    assert proxy.upstream.last.path == "/v1/responses"


def test_the_openai_sdk_streams_a_response(proxy: LiveProxy):
    with proxy.openai().responses.stream(model="gpt-4.1", input="hello codex stream") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(deltas) == "Echo: hello codex stream"
    assert final.usage is not None
    assert final.usage.output_tokens == 4


def test_the_openai_sdk_lists_the_enabled_models_the_openai_routes_serve(proxy: LiveProxy):
    models = [model.id for model in proxy.openai().models.list()]

    # Claude models are served on chat completions too, translated.
    assert models == [
        "claude-haiku-4-5",
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-5.2",
    ]
