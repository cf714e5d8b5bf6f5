"""Chat Completions ⇄ Anthropic Messages translation, case by case (SPEC §9 "Translation")."""

import json

import pytest

from ai_proxy.sse import SSESplitter, encode
from ai_proxy.translate import (
    ChatStreamTranslator,
    TranslationError,
    chat_request_to_messages,
    messages_response_to_chat,
)


def translate(messages, **extra):
    return chat_request_to_messages({"model": "claude-haiku-4-5", "messages": messages, **extra})


def test_a_simple_request_gets_the_default_max_tokens():
    request = translate([{"role": "user", "content": "hi"}])

    assert request == {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": 4096,
    }


def test_system_messages_are_hoisted_and_joined():
    request = translate(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "text", "text": "Use British spelling."}]},
        ]
    )

    assert request["system"] == "Be brief.\n\nUse British spelling."
    assert [m["role"] for m in request["messages"]] == ["user"]


def test_consecutive_messages_of_one_role_are_merged():
    request = translate(
        [
            {"role": "user", "content": "one"},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "three"},
        ]
    )

    assert request["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "three"}]},
    ]


def test_tool_calls_and_results_round_trip():
    request = translate(
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        ],
        tools=[
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ],
        tool_choice="required",
    )

    assert request["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
        ],
    }
    assert request["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "rain"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"},
        ],
    }
    assert request["tools"] == [
        {"name": "get_weather", "description": "", "input_schema": {"type": "object"}}
    ]
    assert request["tool_choice"] == {"type": "any"}


def test_options_map_to_their_anthropic_names():
    request = translate(
        [{"role": "user", "content": "hi"}],
        max_tokens=10,
        temperature=0.2,
        top_p=0.9,
        stop="END",
        user="u-1",
        stream=True,
        tool_choice={"type": "function", "function": {"name": "f"}},
    )

    assert request["max_tokens"] == 10
    assert (request["temperature"], request["top_p"]) == (0.2, 0.9)
    assert request["stop_sequences"] == ["END"]
    assert request["metadata"] == {"user_id": "u-1"}
    assert request["stream"] is True
    assert request["tool_choice"] == {"type": "tool", "name": "f"}


def test_images_become_image_blocks():
    request = translate(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                    },
                ],
            }
        ]
    )

    assert request["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }


def test_an_image_url_of_either_case_becomes_a_url_source():
    parts = [
        {"type": "image_url", "image_url": {"url": url}}
        for url in ("https://x.test/a.png", "HTTP://x.test/b.png")
    ]

    request = translate([{"role": "user", "content": parts}])

    assert [block["source"] for block in request["messages"][0]["content"]] == [
        {"type": "url", "url": "https://x.test/a.png"},
        {"type": "url", "url": "HTTP://x.test/b.png"},
    ]


def test_empty_text_parts_are_left_out_as_empty_text_content_is():
    request = translate(
        [
            {"role": "user", "content": [{"type": "text", "text": ""}]},
            {"role": "user", "content": ""},
            {
                "role": "user",
                "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}],
            },
        ]
    )

    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_max_completion_tokens_wins_over_max_tokens():
    request = translate([{"role": "user", "content": "hi"}], max_completion_tokens=7, max_tokens=9)

    assert request["max_tokens"] == 7


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "x"}]},
        {"messages": [{"role": "user", "content": "x"}], "n": 2},
        {
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1"}}],
                }
            ]
        },
        {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
        {"messages": ["hello"]},
    ],
)
def test_what_claude_cannot_express_is_a_translation_error(body):
    with pytest.raises(TranslationError):
        chat_request_to_messages({"model": "claude-haiku-4-5", **body})


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("stop_sequence", "stop"),
    ],
)
def test_answers_map_stop_reasons(stop_reason, finish_reason):
    chat = messages_response_to_chat(
        {
            "id": "msg_01",
            "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "Hello"}],
            "stop_reason": stop_reason,
            "usage": {"input_tokens": 12, "output_tokens": 3},
        }
    )

    assert chat["id"] == "chatcmpl-msg_01"
    assert chat["choices"][0]["finish_reason"] == finish_reason
    assert chat["choices"][0]["message"] == {"role": "assistant", "content": "Hello"}
    assert chat["usage"] == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


def test_answers_carry_tool_calls_with_json_arguments():
    chat = messages_response_to_chat(
        {
            "id": "msg_02",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                }
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )

    message = chat["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        }
    ]


ANTHROPIC_STREAM = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_9",
                "model": "claude-haiku-4-5",
                "usage": {"input_tokens": 20, "output_tokens": 1},
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}},
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a":'},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": " 1}"},
        },
    ),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 7},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


def run_stream(events, include_usage=False):
    translator = ChatStreamTranslator(model="claude-haiku-4-5", include_usage=include_usage)
    splitter = SSESplitter()
    out = b""
    for name, data in events:
        for event in splitter.feed(encode(data, event=name)):
            out += b"".join(translator.feed(event))
    out += b"".join(translator.finish())
    return [line[6:] for line in out.decode().split("\n\n") if line.startswith("data: ")]


def test_a_stream_becomes_chat_chunks_ending_in_one_done():
    datas = run_stream(ANTHROPIC_STREAM)

    assert datas[-1] == "[DONE]"
    assert datas.count("[DONE]") == 1
    chunks = [json.loads(d) for d in datas[:-1]]
    assert {c["id"] for c in chunks} == {"chatcmpl-msg_9"}
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content", "") for d in deltas) == "Hello"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {
        "index": 0,
        "id": "toolu_1",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == '{"a": 1}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_a_stream_ends_with_a_usage_chunk_when_asked():
    datas = run_stream(ANTHROPIC_STREAM, include_usage=True)

    usage_chunk = json.loads(datas[-2])
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}


def test_an_upstream_error_event_is_surfaced_as_an_error_chunk():
    events = [
        *ANTHROPIC_STREAM[:3],
        (
            "error",
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        ),
    ]

    datas = run_stream(events)

    error = json.loads(datas[-2])
    assert error["error"]["type"] == "overloaded_error"
    assert datas[-1] == "[DONE]"
    assert datas.count("[DONE]") == 1
