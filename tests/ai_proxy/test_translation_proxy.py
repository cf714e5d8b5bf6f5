"""Claude models on /ai/v1/chat/completions, translated to the Anthropic Messages API and
back (SPEC §9 "Translation"), with the official `openai` SDK as the client."""

import json
from typing import Any, cast

import httpx
import openai
import pytest

from tests.ai_proxy.live_proxy import LiveProxy
from tests.ai_proxy.usage_helpers import usage_records
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import Reply

CLAUDE = "claude-haiku-4-5"
# Typed Any: the SDK's typed parameters would not take plain dicts.
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TOOL_CALL = {"id": "toolu_01", "name": "get_weather", "input": {"city": "Oslo"}}


def test_a_simple_request_is_answered_in_the_chat_shape(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(text="Hello there", input_tokens=9, output_tokens=2))

    completion = proxy.openai().chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}]
    )

    sent = proxy.upstream.last
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == ENV_ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json() == {
        "model": CLAUDE,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": 4096,
    }
    assert completion.id.startswith("chatcmpl-msg_fake")
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 2)
    (record,) = usage_records(1)
    assert (record.model, record.provider, record.route) == (
        CLAUDE,
        "anthropic",
        "openai.chat_completions",
    )
    assert (record.input_tokens, record.output_tokens) == (9, 2)


def test_system_messages_are_hoisted_and_joined(proxy: LiveProxy):
    proxy.openai().chat.completions.create(
        model=CLAUDE,
        max_tokens=100,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "hi"},
            {"role": "user", "content": "again"},
        ],
    )

    sent = proxy.upstream.last.json()
    assert sent["system"] == "You are terse.\n\nAnswer in French."
    assert sent["max_tokens"] == 100
    assert sent["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}],
        }
    ]


def test_tool_calls_round_trip(proxy: LiveProxy):
    proxy.upstream.answer_next(
        Reply(text="Let me check.", tool_use=(TOOL_CALL,), stop_reason="tool_use")
    )
    client = proxy.openai()
    question: Any = {"role": "user", "content": "Weather in Oslo?"}

    first = client.chat.completions.create(model=CLAUDE, messages=[question], tools=[WEATHER_TOOL])

    assert proxy.upstream.last.json()["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city",
            "input_schema": WEATHER_TOOL["function"]["parameters"],
        }
    ]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    call: Any
    (call,) = choice.message.tool_calls or []
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "toolu_01",
        "get_weather",
        {"city": "Oslo"},
    )

    client.chat.completions.create(
        model=CLAUDE,
        tools=[WEATHER_TOOL],
        messages=cast(
            Any,
            [
                question,
                choice.message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": "Rain, 4°C"},
            ],
        ),
    )

    messages = proxy.upstream.last.json()["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "get_weather",
                "input": {"city": "Oslo"},
            },
        ],
    }
    assert messages[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "Rain, 4°C"}],
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [("end_turn", "stop"), ("max_tokens", "length"), ("stop_sequence", "stop")],
)
def test_stop_reasons_are_mapped(proxy: LiveProxy, stop_reason, finish_reason):
    proxy.upstream.answer_next(Reply(stop_reason=stop_reason))

    completion = proxy.openai().chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].finish_reason == finish_reason


def test_a_streamed_answer_arrives_as_chat_chunks_with_one_done(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(text="one two three", input_tokens=5, output_tokens=3))

    with httpx.stream(
        "POST",
        f"{proxy.base}/v1/chat/completions",
        json={"model": CLAUDE, "stream": True, "messages": [{"role": "user", "content": "count"}]},
        headers={"Authorization": f"Bearer {proxy.token}"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()

    datas = [line[6:] for line in raw.split("\n") if line.startswith("data: ")]
    assert datas.count("[DONE]") == 1
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "one two three"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert proxy.upstream.last.json()["stream"] is True
    (record,) = usage_records(1)
    assert (record.input_tokens, record.output_tokens, record.streamed) == (5, 3, True)


def test_the_sdk_streams_text_and_usage(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(text="streamed words here", input_tokens=7, output_tokens=3))

    stream = proxy.openai().chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed words here"
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 3)


def test_streamed_tool_calls_accumulate_in_the_sdk(proxy: LiveProxy):
    proxy.upstream.answer_next(
        Reply(text="Checking", tool_use=(TOOL_CALL,), stop_reason="tool_use")
    )

    stream: Any = proxy.openai().chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            call["name"] += (delta.function.name if delta.function else None) or ""
            call["arguments"] += (delta.function.arguments if delta.function else None) or ""
        finish = chunk.choices[0].finish_reason or finish

    assert finish == "tool_calls"
    assert calls == {0: {"id": "toolu_01", "name": "get_weather", "arguments": '{"city": "Oslo"}'}}


def test_an_upstream_error_event_reaches_the_client_as_an_error(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(text="a b c d", error_after=2))

    stream = proxy.openai().chat.completions.create(
        model=CLAUDE, messages=[{"role": "user", "content": "go"}], stream=True
    )
    with pytest.raises(openai.APIError) as raised:
        for _chunk in stream:
            pass

    assert "upstream provider reported an error" in raised.value.message


def test_what_claude_cannot_express_is_a_400_and_is_not_forwarded(proxy: LiveProxy):
    with pytest.raises(openai.BadRequestError) as raised:
        proxy.openai().chat.completions.create(
            model=CLAUDE, n=2, messages=[{"role": "user", "content": "hi"}]
        )

    assert "n must be 1" in raised.value.message
    assert proxy.upstream.received == []


def _chat(messages: Any, **extra: Any) -> dict[str, Any]:
    return {"model": CLAUDE, "messages": messages, **extra}


def _assistant_calling(tool_calls: Any) -> list[Any]:
    return [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": tool_calls},
    ]


def _user_parts(*parts: Any) -> list[Any]:
    return [{"role": "user", "content": list(parts)}]


# Each of these once reached the translation and failed there with a 500.
MALFORMED_FOR_CLAUDE = {
    "tool_calls is a number": (
        _chat(_assistant_calling(5)),
        "messages[1].tool_calls must be a list",
    ),
    "a tool call is a number": (
        _chat(_assistant_calling([1])),
        "messages[1].tool_calls[0] must be an object",
    ),
    "a tool call's function is a string": (
        _chat(_assistant_calling([{"id": "call_1", "type": "function", "function": "x"}])),
        "messages[1].tool_calls[0].function must be an object",
    ),
    "image_url is a string": (
        _chat(_user_parts({"type": "image_url", "image_url": "https://example.com/a.png"})),
        "messages[0].content[0].image_url must be an object",
    ),
    "an image url is a number": (
        _chat(_user_parts({"type": "image_url", "image_url": {"url": 5}})),
        "messages[0].content[0].image_url.url must be a non-empty string",
    ),
    "a text part's text is not a string": (
        _chat(_user_parts({"type": "text", "text": {"nested": True}})),
        "messages[0].content[0].text must be a string",
    ),
    "tools is a number": (
        _chat([{"role": "user", "content": "hi"}], tools=5),
        "tools must be a list",
    ),
    "stop is a number": (
        _chat([{"role": "user", "content": "hi"}], stop=5),
        "stop must be a list",
    ),
}


@pytest.mark.parametrize(
    ("body", "names"), MALFORMED_FOR_CLAUDE.values(), ids=MALFORMED_FOR_CLAUDE.keys()
)
def test_a_malformed_request_for_claude_is_a_400_in_the_openai_shape(proxy: LiveProxy, body, names):
    response = proxy.post("v1/chat/completions", body)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "bad_request",
        None,
    )
    assert error["message"].startswith(names)
    assert proxy.upstream.received == []


def test_the_openai_sdk_raises_its_bad_request_error_for_a_malformed_request(proxy: LiveProxy):
    with pytest.raises(openai.BadRequestError) as raised:
        proxy.openai().chat.completions.create(
            model=CLAUDE, messages=[{"role": "user", "content": "hi"}], stop=cast(Any, 5)
        )

    assert raised.value.status_code == 400
    assert "stop must be a list" in raised.value.message


def test_a_streamed_delta_holding_a_line_separator_arrives_whole_and_is_metered(
    proxy: LiveProxy,
):
    # U+2028 is a line break to str.splitlines(), and not to the SSE format.
    text = "first\u2028line second\u2029paragraph third\x85line"
    proxy.upstream.answer_next(Reply(text=text, input_tokens=6, output_tokens=4))

    stream = proxy.openai().chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "go"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (6, 4)
    (record,) = usage_records(1)
    assert (record.input_tokens, record.output_tokens, record.streamed) == (6, 4, True)
