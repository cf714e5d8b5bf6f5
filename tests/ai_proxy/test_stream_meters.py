"""Reading usage from streams as they are relayed (SPEC §10)."""

import json

from ai_proxy.accounting import (
    AnthropicStreamMeter,
    ChatStreamMeter,
    ResponsesStreamMeter,
    TranslatedChatStream,
    include_usage_upstream,
    usage_from_json,
)
from ai_proxy.sse import SSESplitter, encode


def chop(data: bytes, size: int):
    return [data[i : i + size] for i in range(0, len(data), size)]


ANTHROPIC = b"".join(
    [
        encode(
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "usage": {"input_tokens": 25, "cache_read_input_tokens": 5, "output_tokens": 1},
                },
            },
            "message_start",
        ),
        encode(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "hi"},
            },
            "content_block_delta",
        ),
        encode(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 9},
            },
            "message_delta",
        ),
        encode({"type": "message_stop"}, "message_stop"),
    ]
)


def test_the_anthropic_meter_relays_bytes_unchanged_in_any_chunking():
    for size in (1, 7, 64, len(ANTHROPIC)):
        meter = AnthropicStreamMeter()
        relayed = b"".join(meter.feed(part) for part in chop(ANTHROPIC, size)) + meter.close()
        assert relayed == ANTHROPIC
        assert (meter.usage.input_tokens, meter.usage.output_tokens) == (25, 9)
        assert meter.usage.cache_read_tokens == 5


def test_a_stream_cut_short_keeps_what_was_seen():
    meter = AnthropicStreamMeter()
    meter.feed(ANTHROPIC[: ANTHROPIC.index(b"event: message_delta")])

    assert (meter.usage.input_tokens, meter.usage.cache_read_tokens) == (25, 5)
    assert meter.usage.output_tokens == 1


CHAT = b"".join(
    [
        encode({"id": "c", "choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None}),
        encode(
            {
                "id": "c",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": None,
            }
        ),
        encode({"id": "c", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 4}}),
        b"data: [DONE]\n\n",
    ]
)


def test_the_chat_meter_strips_the_usage_chunk_the_client_did_not_ask_for():
    meter = ChatStreamMeter(strip_usage_chunk=True)

    relayed = b"".join(meter.feed(part) for part in chop(CHAT, 5)) + meter.close()

    assert b"prompt_tokens" not in relayed
    assert relayed.endswith(b"data: [DONE]\n\n")
    assert relayed.count(b"data: ") == 3
    assert (meter.usage.input_tokens, meter.usage.output_tokens) == (11, 4)


def test_the_chat_meter_keeps_the_usage_chunk_when_the_client_asked():
    meter = ChatStreamMeter(strip_usage_chunk=False)

    relayed = b"".join(meter.feed(part) for part in chop(CHAT, 5)) + meter.close()

    assert relayed == CHAT
    assert meter.usage.output_tokens == 4


def test_include_usage_is_requested_upstream_and_the_client_choice_remembered():
    body = {"stream": True}
    assert include_usage_upstream(body) is False
    assert body["stream_options"] == {"include_usage": True}
    asked = {"stream": True, "stream_options": {"include_usage": True}}
    assert include_usage_upstream(asked) is True


def test_the_responses_meter_reads_response_completed():
    stream = encode(
        {"type": "response.output_text.delta", "delta": "x"}, "response.output_text.delta"
    ) + encode(
        {
            "type": "response.completed",
            "response": {"usage": {"input_tokens": 40, "output_tokens": 6}},
        },
        "response.completed",
    )
    meter = ResponsesStreamMeter()

    for part in chop(stream, 3):
        meter.feed(part)

    assert (meter.usage.input_tokens, meter.usage.output_tokens) == (40, 6)


def test_the_translated_stream_meters_anthropic_usage():
    stream = TranslatedChatStream(model="claude-haiku-4-5", include_usage=False)

    out = b"".join(stream.feed(part) for part in chop(ANTHROPIC, 11)) + stream.close()

    datas = [e.data for e in SSESplitter().feed(out)]
    assert datas[-1] == "[DONE]"
    assert json.loads(datas[1])["choices"][0]["delta"] == {"content": "hi"}
    assert (stream.usage.input_tokens, stream.usage.output_tokens) == (25, 9)
    assert stream.usage.cache_read_tokens == 5


def test_json_usage_in_each_dialect():
    assert (
        usage_from_json(
            "anthropic", {"usage": {"input_tokens": 3, "output_tokens": 4}}
        ).output_tokens
        == 4
    )
    assert (
        usage_from_json(
            "chat", {"usage": {"prompt_tokens": 3, "completion_tokens": 5}}
        ).output_tokens
        == 5
    )
    assert (
        usage_from_json(
            "responses", {"usage": {"input_tokens": 7, "output_tokens": 1}}
        ).input_tokens
        == 7
    )
    assert (
        usage_from_json(
            "chat", {"usage": {"prompt_tokens": -3, "completion_tokens": "x"}}
        ).input_tokens
        == 0
    )
    assert usage_from_json("chat", ["not", "an", "object"]).input_tokens == 0


MALFORMED_ANTHROPIC = [
    ("message_start", {"type": "message_start", "message": "msg_1"}),
    ("message_start", {"type": "message_start", "message": {"usage": 5}}),
    ("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": "9"}}}),
    ("message_delta", {"type": "message_delta", "usage": [1]}),
    ("message_delta", {"type": "message_delta", "usage": {"output_tokens": None}}),
    ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 4}}),
]


def test_malformed_anthropic_events_are_metered_as_far_as_they_make_sense():
    stream = b"".join(encode(data, name) for name, data in MALFORMED_ANTHROPIC)
    meter = AnthropicStreamMeter()
    translated = TranslatedChatStream(model="claude-haiku-4-5", include_usage=False)

    assert meter.feed(stream) == stream
    out = translated.feed(stream) + translated.close()

    assert (meter.usage.input_tokens, meter.usage.output_tokens) == (0, 4)
    assert (translated.usage.input_tokens, translated.usage.output_tokens) == (0, 4)
    assert out.endswith(b"data: [DONE]\n\n")
    assert out.count(b"[DONE]") == 1
