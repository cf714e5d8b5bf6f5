"""OpenAI answers: chat completions (document and chunk stream, `tool_calls`, the final
usage chunk with `stream_options.include_usage`) and Responses (document and the event
sequence: response.created, response.in_progress, then per output item — reasoning,
message, function_call — its added / delta / done events, then response.completed).
Usage carries `cached_tokens` and `reasoning_tokens` in each API's details objects."""

import base64
import itertools
import json
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from tests.fakes.errors import stream_error

if TYPE_CHECKING:
    from tests.fakes.answers import Answer, Events

_FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def _data(document: Any) -> bytes:
    return f"data: {json.dumps(document, ensure_ascii=False)}\n\n".encode()


def _arguments(tool: dict[str, Any]) -> str:
    return json.dumps(tool["input"])


# --- chat completions -----------------------------------------------------------------
def chat_usage(answer: "Answer") -> dict[str, Any]:
    used = answer.usage
    return {
        "prompt_tokens": used.input_tokens,
        "completion_tokens": used.output_tokens,
        "total_tokens": used.input_tokens + used.output_tokens,
        "prompt_tokens_details": {"cached_tokens": used.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": used.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _finish(answer: "Answer") -> str:
    if answer.tools:
        return "tool_calls"
    return _FINISH.get(answer.reply.stop_reason, "stop")


def chat_document(answer: "Answer") -> Any:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text if answer.text or not answer.tools else None,
        "refusal": None,
        "annotations": [],
    }
    if answer.tools:
        message["tool_calls"] = [
            {
                "id": tool["id"],
                "type": "function",
                "function": {"name": tool["name"], "arguments": _arguments(tool)},
            }
            for tool in answer.tools
        ]
    return {
        "id": f"chatcmpl-fake{answer.number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(answer)}
        ],
        "usage": chat_usage(answer),
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }


def chat_events(answer: "Answer") -> "Events":
    include_usage = bool((answer.request.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: Any, finish: str | None) -> bytes:
        data: dict[str, Any] = {
            "id": f"chatcmpl-fake{answer.number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": answer.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if include_usage:
            data["usage"] = None
        return _data(data)

    def text_chunk(piece: str) -> bytes:
        return chunk({"content": answer.delta_text(piece)}, None)

    yield False, lambda: chunk({"role": "assistant", "content": ""}, None)
    for number, piece in enumerate(answer.deltas() if answer.text or not answer.tools else []):
        if answer.fails_at(number):
            yield False, lambda: _data(stream_error("chat", ""))
            return
        yield True, partial(text_chunk, piece)
    for index, tool in enumerate(answer.tools):
        opening = {
            "index": index,
            "id": tool["id"],
            "type": "function",
            "function": {"name": tool["name"], "arguments": ""},
        }
        yield False, partial(chunk, {"tool_calls": [opening]}, None)
        arguments = _arguments(tool)
        for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
            more = {"index": index, "function": {"arguments": part}}
            yield True, partial(chunk, {"tool_calls": [more]}, None)
    yield False, lambda: chunk({}, _finish(answer))
    if include_usage:
        usage = {
            "id": f"chatcmpl-fake{answer.number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": answer.model,
            "system_fingerprint": "fp_fake",
            "choices": [],
            "usage": chat_usage(answer),
        }
        yield False, lambda: _data(usage)
    yield False, lambda: b"data: [DONE]\n\n"


# --- Responses ------------------------------------------------------------------------
def responses_usage(answer: "Answer") -> dict[str, Any]:
    used = answer.usage
    return {
        "input_tokens": used.input_tokens,
        "input_tokens_details": {"cached_tokens": used.cached_tokens},
        "output_tokens": used.output_tokens,
        "output_tokens_details": {"reasoning_tokens": used.reasoning_tokens},
        "total_tokens": used.input_tokens + used.output_tokens,
    }


def _response(answer: "Answer", status: str, output: list[Any], usage: bool) -> Any:
    return {
        "id": f"resp_fake{answer.number}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": answer.model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "store": answer.request.get("store", True),
        "error": None,
        "incomplete_details": None,
        "usage": responses_usage(answer) if usage else None,
    }


def _reasoning_item(answer: "Answer", done: bool) -> dict[str, Any]:
    summary = answer.reply.reasoning or ""
    item: dict[str, Any] = {
        "id": f"rs_fake{answer.number}",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}] if done and summary else [],
    }
    if "reasoning.encrypted_content" in (answer.request.get("include") or []):
        item["encrypted_content"] = base64.b64encode(f"reasoning {answer.number}".encode()).decode()
    return item


def _message_item(answer: "Answer", done: bool) -> dict[str, Any]:
    content = [{"type": "output_text", "text": answer.text, "annotations": []}] if done else []
    return {
        "id": f"msg_fake{answer.number}",
        "type": "message",
        "status": "completed" if done else "in_progress",
        "role": "assistant",
        "content": content,
    }


def _call_item(answer: "Answer", index: int, tool: dict[str, Any], done: bool) -> dict[str, Any]:
    return {
        "id": f"fc_fake{answer.number}_{index}",
        "type": "function_call",
        "status": "completed" if done else "in_progress",
        "call_id": tool["id"],
        "name": tool["name"],
        "arguments": _arguments(tool) if done else "",
    }


def _output(answer: "Answer") -> list[dict[str, Any]]:
    items = [_reasoning_item(answer, True)] if answer.reply.reasoning is not None else []
    if answer.text or not answer.tools:
        items.append(_message_item(answer, True))
    items += [_call_item(answer, i, tool, True) for i, tool in enumerate(answer.tools)]
    return items


def responses_document(answer: "Answer") -> Any:
    return _response(answer, "completed", _output(answer), True)


def responses_events(answer: "Answer") -> "Events":
    sequence = itertools.count()

    def event(name: str, **data: Any) -> bytes:
        document = {"type": name, "sequence_number": next(sequence), **data}
        return f"event: {name}\ndata: {json.dumps(document, ensure_ascii=False)}\n\n".encode()

    yield (
        False,
        lambda: event("response.created", response=_response(answer, "in_progress", [], False)),
    )
    yield (
        False,
        lambda: event("response.in_progress", response=_response(answer, "in_progress", [], False)),
    )
    index = 0
    if answer.reply.reasoning is not None:
        yield from _reasoning_events(answer, event, index)
        index += 1
    if answer.text or not answer.tools:
        for produced in _message_events(answer, event, index):
            if produced is None:  # the scripted failure
                failed = _response(answer, "failed", [], False)
                message = stream_error("responses", "")["error"]["message"]
                failed["error"] = {"code": "server_error", "message": message}
                yield False, partial(event, "response.failed", response=failed)
                return
            yield produced
        index += 1
    for offset, tool in enumerate(answer.tools):
        yield from _call_events(answer, event, index + offset, offset, tool)
    yield (
        False,
        lambda: event(
            "response.completed", response=_response(answer, "completed", _output(answer), True)
        ),
    )


def _reasoning_events(answer: "Answer", event: Any, index: int) -> "Events":
    where = {"item_id": f"rs_fake{answer.number}", "output_index": index, "summary_index": 0}
    summary = answer.reply.reasoning or ""
    yield (
        False,
        lambda: event(
            "response.output_item.added", output_index=index, item=_reasoning_item(answer, False)
        ),
    )
    if summary:
        empty, full = (
            {"type": "summary_text", "text": ""},
            {"type": "summary_text", "text": summary},
        )
        yield False, lambda: event("response.reasoning_summary_part.added", part=empty, **where)
        yield True, lambda: event("response.reasoning_summary_text.delta", delta=summary, **where)
        yield False, lambda: event("response.reasoning_summary_text.done", text=summary, **where)
        yield False, lambda: event("response.reasoning_summary_part.done", part=full, **where)
    yield (
        False,
        lambda: event(
            "response.output_item.done", output_index=index, item=_reasoning_item(answer, True)
        ),
    )


def _message_events(answer: "Answer", event: Any, index: int) -> Any:
    where = {"item_id": f"msg_fake{answer.number}", "output_index": index, "content_index": 0}
    part = {"type": "output_text", "text": "", "annotations": []}
    yield (
        False,
        lambda: event(
            "response.output_item.added", output_index=index, item=_message_item(answer, False)
        ),
    )
    yield False, lambda: event("response.content_part.added", part=part, **where)
    for number, piece in enumerate(answer.deltas()):
        if answer.fails_at(number):
            yield None
            return
        yield (
            True,
            lambda piece=piece: event(
                "response.output_text.delta", delta=answer.delta_text(piece), logprobs=[], **where
            ),
        )
    done = {"type": "output_text", "text": answer.text, "annotations": []}
    yield False, lambda: event("response.output_text.done", text=answer.text, logprobs=[], **where)
    yield False, lambda: event("response.content_part.done", part=done, **where)
    yield (
        False,
        lambda: event(
            "response.output_item.done", output_index=index, item=_message_item(answer, True)
        ),
    )


def _call_events(answer: "Answer", event: Any, index: int, call: int, tool: Any) -> "Events":
    where = {"item_id": f"fc_fake{answer.number}_{call}", "output_index": index}
    yield (
        False,
        lambda: event(
            "response.output_item.added",
            output_index=index,
            item=_call_item(answer, call, tool, False),
        ),
    )
    arguments = _arguments(tool)
    for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
        yield (
            True,
            partial(event, "response.function_call_arguments.delta", delta=part, **where),
        )
    yield (
        False,
        lambda: event("response.function_call_arguments.done", arguments=arguments, **where),
    )
    yield (
        False,
        lambda: event(
            "response.output_item.done",
            output_index=index,
            item=_call_item(answer, call, tool, True),
        ),
    )
