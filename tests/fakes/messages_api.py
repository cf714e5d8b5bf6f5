"""Anthropic Messages answers: the message document and its stream (message_start with the
input and cache usage, content_block_start, ping, content_block_delta…, content_block_stop,
tool_use blocks with input_json_delta, message_delta with the output usage, message_stop)."""

import json
from functools import partial
from typing import TYPE_CHECKING, Any

from tests.fakes.errors import stream_error

if TYPE_CHECKING:
    from tests.fakes.answers import Answer, Events


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def usage(answer: "Answer", output_tokens: int) -> dict[str, Any]:
    used = answer.usage
    return {
        "input_tokens": used.input_tokens,
        "cache_creation_input_tokens": used.cache_write,
        "cache_read_input_tokens": used.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": used.cache_write_5m,
            "ephemeral_1h_input_tokens": used.cache_write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _stop_reason(answer: "Answer") -> str:
    if answer.tools and answer.reply.stop_reason == "end_turn":
        return "tool_use"
    return answer.reply.stop_reason


def _has_text(answer: "Answer") -> bool:
    return bool(answer.text) or not answer.tools


def _message(answer: "Answer", content: list[Any], stop: str | None, output: int) -> Any:
    return {
        "id": f"msg_fake{answer.number}",
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage(answer, output),
    }


def document(answer: "Answer") -> Any:
    content = [{"type": "text", "text": answer.text}] if _has_text(answer) else []
    content += [{"type": "tool_use", **tool} for tool in answer.tools]
    return _message(answer, content, _stop_reason(answer), answer.usage.output_tokens)


def events(answer: "Answer") -> "Events":
    start = {"type": "message_start", "message": _message(answer, [], None, 1)}
    yield False, lambda: _event("message_start", start)
    index = 0
    if _has_text(answer):
        block = {"type": "text", "text": ""}
        yield (
            False,
            lambda: _event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
        )
        yield False, lambda: _event("ping", {"type": "ping"})
        for number, piece in enumerate(answer.deltas()):
            if answer.fails_at(number):
                error = stream_error("anthropic", answer.headers.get("request-id", ""))
                yield False, partial(_event, "error", error)
                return
            yield True, partial(_text_delta, answer, piece)
        yield (
            False,
            lambda: _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        )
        index = 1
    for offset, tool in enumerate(answer.tools):
        yield from _tool_use_events(index + offset, tool, ping=offset == 0 and index == 0)
    end = {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(answer), "stop_sequence": None},
        "usage": {"output_tokens": answer.usage.output_tokens},
    }
    yield False, lambda: _event("message_delta", end)
    yield False, lambda: _event("message_stop", {"type": "message_stop"})


def _text_delta(answer: "Answer", piece: str) -> bytes:
    delta = {"type": "text_delta", "text": answer.delta_text(piece)}
    return _event(
        "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    )


def _tool_use_events(index: int, tool: dict[str, Any], ping: bool) -> "Events":
    start = {"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": {}}
    yield (
        False,
        lambda: _event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        ),
    )
    if ping:
        yield False, lambda: _event("ping", {"type": "ping"})
    arguments = json.dumps(tool["input"])
    middle = len(arguments) // 2
    for part in (arguments[:middle], arguments[middle:]):
        delta = {"type": "input_json_delta", "partial_json": part}
        yield (
            True,
            partial(
                _event,
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            ),
        )
    yield (
        False,
        lambda: _event("content_block_stop", {"type": "content_block_stop", "index": index}),
    )
