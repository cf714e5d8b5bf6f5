"""The fake provider speaks the providers' shapes: the official SDKs, pointed straight at
it, parse its prompt-caching usage, its errors and their headers, its usage details,
reasoning items and tool calls; and behaviours can be scripted per upstream key."""

from datetime import datetime

import anthropic
import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from openai.types.responses import ResponseReasoningItem

from tests.fakes.upstream import (
    FakeUpstream,
    Overloaded,
    PromptTooLong,
    RateLimited,
    Reply,
)

KEY_A = "sk-ant-api03-pool-key-a-000000000000000000000000AAAA"
KEY_B = "sk-ant-api03-pool-key-b-000000000000000000000000BBBB"
# About 1 500 tokens at 4 bytes a token: over the 1 024 a prefix needs to be cached.
LONG_SYSTEM = "You are a careful coding agent. " * 200


def claude(fake: FakeUpstream, key: str = KEY_A) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url, api_key=key, max_retries=0)


def gpt(fake: FakeUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.openai_url, api_key="sk-proj-fake", max_retries=0)


def cached_request(question: str, ttl: str | None = None) -> dict:
    marker = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "system": [{"type": "text", "text": LONG_SYSTEM, "cache_control": marker}],
        "messages": [{"role": "user", "content": question}],
    }


def test_the_first_request_with_a_cacheable_prefix_writes_it_and_the_next_reads_it(
    fake_upstream,
):
    client = claude(fake_upstream)

    first = client.messages.create(**cached_request("what is in this repo?")).usage
    second = client.messages.create(**cached_request("and what does it do?")).usage

    assert first.cache_creation_input_tokens > 1024
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens is not None
    assert 0 < second.input_tokens < 20


def test_the_next_turn_of_a_conversation_reads_what_the_last_one_wrote(fake_upstream):
    client = claude(fake_upstream)
    first = cached_request("")
    first["system"][0].pop("cache_control")
    question = {"type": "text", "text": "what is in this repo?"}
    first["messages"] = [
        {"role": "user", "content": [{**question, "cache_control": {"type": "ephemeral"}}]}
    ]
    second = {
        **first,
        "messages": [
            {"role": "user", "content": [question]},
            {"role": "assistant", "content": "A Django app."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "and its tests?",
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
        ],
    }

    written = client.messages.create(**first).usage
    read = client.messages.create(**second).usage

    assert read.cache_read_input_tokens == written.cache_creation_input_tokens
    assert 0 < read.cache_creation_input_tokens < 100  # the two new messages


def test_a_stream_reports_its_cache_use_in_message_start(fake_upstream):
    client = claude(fake_upstream)
    client.messages.create(**cached_request("warm the cache"))

    with client.messages.stream(**cached_request("now read it")) as stream:
        events = list(stream)
        final = stream.get_final_message()

    start = next(event for event in events if event.type == "message_start")
    assert (start.message.usage.cache_read_input_tokens or 0) > 1024
    assert final.usage.cache_read_input_tokens == start.message.usage.cache_read_input_tokens
    assert any(event.type == "content_block_delta" for event in events)


def test_a_one_hour_breakpoint_writes_one_hour_tokens(fake_upstream):
    usage = claude(fake_upstream).messages.create(**cached_request("go", ttl="1h")).usage

    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_1h_input_tokens == usage.cache_creation_input_tokens
    assert usage.cache_creation.ephemeral_5m_input_tokens == 0


def test_a_prefix_too_short_to_cache_is_all_uncached_input(fake_upstream):
    request = cached_request("go")
    request["system"][0]["text"] = "Be brief."

    usage = claude(fake_upstream).messages.create(**request).usage

    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
    assert usage.input_tokens > 0


def test_cache_use_can_be_scripted(fake_upstream):
    fake_upstream.answer_next(
        Reply(input_tokens=3, cache_read=20_000, cache_write=1_500, cache_write_1h=500)
    )

    usage = claude(fake_upstream).messages.create(**cached_request("go")).usage

    assert usage.input_tokens == 3
    assert usage.cache_read_input_tokens == 20_000
    assert usage.cache_creation_input_tokens == 2_000
    assert usage.cache_creation is not None
    assert usage.cache_creation.ephemeral_1h_input_tokens == 500


def test_overloaded_is_a_529_overloaded_error_with_the_request_id(fake_upstream):
    fake_upstream.answer_next(Overloaded())

    with pytest.raises(anthropic.OverloadedError) as raised:
        claude(fake_upstream).messages.create(**cached_request("go"))

    assert raised.value.status_code == 529
    assert raised.value.response.json()["error"]["type"] == "overloaded_error"
    assert raised.value.request_id == fake_upstream.last.request_id
    assert fake_upstream.last.request_id.startswith("req_011C")


def test_an_anthropic_rate_limit_says_when_each_limit_resets(fake_upstream):
    fake_upstream.answer_next(RateLimited(retry_after=12))

    with pytest.raises(anthropic.RateLimitError) as raised:
        claude(fake_upstream).messages.create(**cached_request("go"))

    headers = raised.value.response.headers
    assert headers["retry-after"] == "12"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    reset = datetime.fromisoformat(headers["anthropic-ratelimit-requests-reset"])
    assert reset.tzinfo is not None
    assert "anthropic-ratelimit-tokens-reset" in headers
    assert raised.value.response.json()["error"]["type"] == "rate_limit_error"


def test_an_openai_rate_limit_has_the_x_ratelimit_headers(fake_upstream):
    fake_upstream.answer_next(RateLimited(retry_after=7, limit="tokens"))

    with pytest.raises(openai.RateLimitError) as raised:
        gpt(fake_upstream).chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "hi"}]
        )

    headers = raised.value.response.headers
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.type == "tokens"
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    assert headers["x-ratelimit-reset-tokens"] == "7s"
    assert raised.value.request_id == fake_upstream.last.request_id


def test_a_prompt_too_long_names_its_size_as_claude_code_expects(fake_upstream):
    fake_upstream.answer_next(PromptTooLong(tokens=250_000))

    with pytest.raises(anthropic.BadRequestError) as raised:
        claude(fake_upstream).messages.create(**cached_request("go"))

    assert raised.value.response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "prompt is too long: 250000 tokens > 200000 maximum",
    }


def test_a_prompt_too_long_for_openai_is_context_length_exceeded(fake_upstream):
    fake_upstream.answer_next(PromptTooLong())

    with pytest.raises(openai.BadRequestError) as raised:
        gpt(fake_upstream).responses.create(model="gpt-4.1", input="hi")

    assert raised.value.code == "context_length_exceeded"
    assert raised.value.param == "input"


def test_an_anthropic_stream_error_event_reaches_the_sdk(fake_upstream):
    fake_upstream.answer_next(Reply(text="one two three", error_after=1))

    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        claude(fake_upstream).messages.stream(**cached_request("go")) as stream,
    ):
        stream.get_final_message()

    body = raised.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "overloaded_error"


def test_a_chat_stream_error_reaches_the_sdk(fake_upstream):
    fake_upstream.answer_next(Reply(text="one two three", error_after=1))

    stream = gpt(fake_upstream).chat.completions.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    with pytest.raises(openai.APIError, match="server had an error"):
        list(stream)


def test_a_responses_stream_can_fail_midway(fake_upstream):
    fake_upstream.answer_next(Reply(text="one two three", error_after=1))

    events = list(gpt(fake_upstream).responses.create(model="gpt-4.1", input="hi", stream=True))

    assert events[-1].type == "response.failed"
    assert events[-1].response.error is not None
    assert events[-1].response.error.code == "server_error"


def test_chat_usage_details_carry_cached_and_reasoning_tokens(fake_upstream):
    fake_upstream.answer_next(
        Reply(text="done", cached_tokens=1_024, reasoning_tokens=64),
        Reply(text="done", cached_tokens=1_024, reasoning_tokens=64),
    )
    client = gpt(fake_upstream)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "think"}]

    usage = client.chat.completions.create(model="gpt-5", messages=messages).usage
    streamed = list(
        client.chat.completions.create(
            model="gpt-5", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )[-1].usage

    for each in (usage, streamed):
        assert each is not None
        assert each.prompt_tokens == 1 + 1_024
        assert each.prompt_tokens_details is not None
        assert each.prompt_tokens_details.cached_tokens == 1_024
        assert each.completion_tokens == 1 + 64
        assert each.completion_tokens_details is not None
        assert each.completion_tokens_details.reasoning_tokens == 64


def test_a_response_with_reasoning_has_a_reasoning_item_and_token_details(fake_upstream):
    reply = Reply(
        text="Fixed.",
        reasoning="Look at the failing test.",
        reasoning_tokens=30,
        cached_tokens=2_048,
    )
    fake_upstream.answer_next(reply, reply)
    client = gpt(fake_upstream)

    response = client.responses.create(model="gpt-5", input="fix it")
    with client.responses.stream(
        model="gpt-5", input="fix it", include=["reasoning.encrypted_content"]
    ) as stream:
        kinds = [event.type for event in stream]
        streamed = stream.get_final_response()

    for each in (response, streamed):
        reasoning = each.output[0]
        assert isinstance(reasoning, ResponseReasoningItem)
        assert [item.type for item in each.output] == ["reasoning", "message"]
        assert reasoning.summary[0].text == "Look at the failing test."
        assert each.output_text == "Fixed."
        assert each.usage is not None
        assert each.usage.input_tokens_details.cached_tokens == 2_048
        assert each.usage.output_tokens_details.reasoning_tokens == 30
    assert "response.reasoning_summary_text.delta" in kinds
    streamed_reasoning = streamed.output[0]
    assert isinstance(streamed_reasoning, ResponseReasoningItem)
    assert streamed_reasoning.encrypted_content  # asked for in the stream only


def test_tool_calls_stream_in_each_openai_api(fake_upstream):
    call = {"id": "call_1", "name": "shell", "input": {"command": "ls"}}
    fake_upstream.answer_next(Reply(text="", tool_use=(call,)), Reply(text="", tool_use=(call,)))
    client = gpt(fake_upstream)

    chunks = list(
        client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "ls"}], stream=True
        )
    )
    with client.responses.stream(model="gpt-4.1", input="ls") as stream:
        response = stream.get_final_response()

    pieces = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    arguments = "".join(piece[0].function.arguments or "" for piece in pieces if piece[0].function)
    assert arguments == '{"command": "ls"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert [(item.type, getattr(item, "call_id", None)) for item in response.output] == [
        ("function_call", "call_1")
    ]


def test_a_behaviour_scripted_for_one_key_waits_for_that_key(fake_upstream):
    fake_upstream.answer_next(Overloaded(), key=KEY_A)

    served = claude(fake_upstream, KEY_B).messages.create(**cached_request("first, on B"))
    with pytest.raises(anthropic.OverloadedError):
        claude(fake_upstream, KEY_A).messages.create(**cached_request("then on A"))

    assert served.content[0].type == "text"
    assert [(r.key, r.status) for r in fake_upstream.received] == [(KEY_B, 200), (KEY_A, 529)]


def test_a_key_can_fail_every_time_while_another_answers(fake_upstream):
    fake_upstream.key_defaults[KEY_A] = Overloaded()

    statuses = [
        httpx.post(
            f"{fake_upstream.url}/v1/messages",
            json=cached_request("go"),
            headers={"x-api-key": key},
        ).status_code
        for key in (KEY_A, KEY_B, KEY_A)
    ]

    assert statuses == [529, 200, 529]


def test_a_bearer_token_is_recorded_as_the_key_and_a_predicate_picks_the_request(fake_upstream):
    fake_upstream.answer_next(Reply(text="the one with tools"), when=lambda body: "tools" in body)
    client = gpt(fake_upstream)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
    tool: ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "shell", "parameters": {"type": "object"}},
    }

    title = client.chat.completions.create(model="gpt-4.1", messages=messages)
    main = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=[tool])

    assert title.choices[0].message.content == "Echo: hi"
    assert main.choices[0].message.content == "the one with tools"
    assert fake_upstream.last.key == "sk-proj-fake"
