"""OpenAI Chat Completions ⇄ Anthropic Messages, for `claude-*` models on /ai/v1/chat/completions.

Requests: system and developer messages are hoisted into `system` (joined by blank lines),
consecutive messages of the same role are merged, tool calls become `tool_use` blocks and
tool messages `tool_result` blocks, empty text is left out, `max_tokens` defaults to 4096.
What a request must be is also the OpenAPI schema (`chat_schema`): change both together.
Answers: text and tool calls back into one choice, stop reasons mapped, ids
`chatcmpl-<message id>`. Streams are translated event by event (`ChatStreamTranslator`),
ending with one `data: [DONE]`; an upstream error event becomes an error chunk, never
silence.
"""

import json
import re
import time
from typing import Any, TypeGuard

import orjson

from ai_proxy.sse import SSEEvent, encode

DEFAULT_MAX_TOKENS = 4096

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class TranslationError(ValueError):
    """The request is malformed, or uses something the Anthropic Messages API cannot express
    (a 400). The message names the field, never quotes what the client wrote there."""


_ROLES = ("system", "developer", "user", "assistant", "tool")
# How an error message names what was sent instead: its JSON type, never its content.
_JSON_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
_JSON_KINDS.update({bool: "a boolean", int: "a number", float: "a number", type(None): "null"})


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), "something else")


def _expected(where: str, what: str, value: Any) -> TranslationError:
    return TranslationError(f"{where} must be {what}, not {_kind(value)}.")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _expected(where, "an object", value)
    return value


def _list(value: Any, where: str) -> list[Any]:
    """A list; a missing (null) one is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _expected(where, "a list", value)
    return value


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _expected(where, "a non-empty string", value)
    return value


def _optional_string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _expected(where, "a string", value)
    return value


def _text_of(content: Any, where: str) -> str:
    """The text of a string content, or of the text parts of a list of parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _expected(f"{where}.content", "a string or a list of parts", content)
    texts = []
    for index, part in enumerate(content):
        part = _object(part, f"{where}.content[{index}]")
        if part.get("type") == "text":
            texts.append(_text_part(part, f"{where}.content[{index}]"))
    return "".join(texts)


def _text_part(part: dict[str, Any], where: str) -> str:
    text = part.get("text")
    if not isinstance(text, str):
        raise _expected(f"{where}.text", "a string", text)
    return text


# The scheme spelled out, not matched ignoring case: Python's IGNORECASE lets U+017F be `s`.
HTTP_URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://")


def _image_block(part: dict[str, Any], where: str) -> dict[str, Any]:
    image = _object(part.get("image_url"), f"{where}.image_url")
    url = _name(image.get("url"), f"{where}.image_url.url")
    if HTTP_URL.match(url):
        return {"type": "image", "source": {"type": "url", "url": url}}
    header, comma, data = url.partition(",")
    media_type, _, encoding = header.removeprefix("data:").partition(";")
    if not header.startswith("data:") or not comma or not media_type or encoding != "base64":
        raise TranslationError(
            f"{where}.image_url.url must be an http(s) URL or a base64 data URL "
            "(data:<media type>;base64,<data>)."
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise _expected(f"{where}.content", "a string or a list of parts", content)
    blocks = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = _object(part, at).get("type")
        if kind == "text":
            text = _text_part(part, at)
            if text:  # Claude refuses empty text blocks; an empty string content is dropped too
                blocks.append({"type": "text", "text": text})
        elif kind == "image_url":
            blocks.append(_image_block(part, at))
        else:
            shown = repr(kind) if isinstance(kind, str) and len(kind) <= 32 else _kind(kind)
            raise TranslationError(f"{at}: parts of type {shown} are not supported for Claude.")
    return blocks


def _tool_arguments(raw: Any, where: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw is not None and not isinstance(raw, str):
        raise _expected(where, "a string holding a JSON object", raw)
    try:
        # Strict JSON (RFC 8259): no NaN, no Infinity, as the body itself is read.
        parsed = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        raise TranslationError(f"{where} must be a JSON object.") from None
    if not isinstance(parsed, dict):
        raise TranslationError(f"{where} must be a JSON object.")
    return parsed


def _tool_use_block(call: Any, where: str) -> dict[str, Any]:
    call = _object(call, where)
    if call.get("type", "function") != "function":
        raise TranslationError(f"{where}.type must be 'function'.")
    function = _object(call.get("function"), f"{where}.function")
    return {
        "type": "tool_use",
        "id": _name(call.get("id"), f"{where}.id"),
        "name": _name(function.get("name"), f"{where}.function.name"),
        "input": _tool_arguments(function.get("arguments"), f"{where}.function.arguments"),
    }


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = _text_of(message.get("content"), where)
    if text:
        blocks.append({"type": "text", "text": text})
    calls = _list(message.get("tool_calls"), f"{where}.tool_calls")
    blocks.extend(_tool_use_block(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(calls))
    return blocks


def _tool_result_block(message: dict[str, Any], where: str) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": _name(message.get("tool_call_id"), f"{where}.tool_call_id"),
        "content": _text_of(message.get("content"), where),
    }


def _role(message: Any, where: str) -> str:
    role = _object(message, where).get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise TranslationError(f"{where}.role must be one of {', '.join(_ROLES)}.")
    return role


def _messages(chat_messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    merged: list[dict[str, Any]] = []
    for index, message in enumerate(chat_messages):
        where = f"messages[{index}]"
        role = _role(message, where)
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content"), where))
            continue
        if role == "user":
            anthropic_role, blocks = "user", _user_blocks(message.get("content"), where)
        elif role == "assistant":
            anthropic_role, blocks = "assistant", _assistant_blocks(message, where)
        else:
            anthropic_role, blocks = "user", [_tool_result_block(message, where)]
        if not blocks:
            continue
        if merged and merged[-1]["role"] == anthropic_role:
            merged[-1]["content"].extend(blocks)
        else:
            merged.append({"role": anthropic_role, "content": blocks})
    return "\n\n".join(part for part in system if part), merged


def _tool(tool: Any, where: str) -> dict[str, Any]:
    tool = _object(tool, where)
    if tool.get("type", "function") != "function":
        raise TranslationError(f"{where}.type: only function tools are supported for Claude.")
    function = _object(tool.get("function"), f"{where}.function")
    parameters = function.get("parameters")
    if parameters is not None:
        _object(parameters, f"{where}.function.parameters")
    return {
        "name": _name(function.get("name"), f"{where}.function.name"),
        "description": _optional_string(
            function.get("description"), f"{where}.function.description"
        )
        or "",
        "input_schema": parameters or {"type": "object", "properties": {}},
    }


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str) and choice in _TOOL_CHOICES:
        return dict(_TOOL_CHOICES[choice])
    if isinstance(choice, dict) and choice.get("type", "function") == "function":
        function = _object(choice.get("function"), "tool_choice.function")
        return {"type": "tool", "name": _name(function.get("name"), "tool_choice.function.name")}
    raise TranslationError(
        "tool_choice must be 'auto', 'required', 'none' or "
        '{"type": "function", "function": {"name": …}}.'
    )


_TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def _is_integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _max_tokens(body: dict[str, Any]) -> int:
    """`max_completion_tokens` (the current name), else `max_tokens`; both are checked."""
    given = []
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_integer(value) or value < 1:
            raise TranslationError(f"{name} must be a positive integer.")
        given.append(value)
    return given[0] if given else DEFAULT_MAX_TOKENS


def _sampling(body: dict[str, Any]) -> dict[str, Any]:
    options = {}
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _expected(name, "a number", value)
        options[name] = value
    return options


def _stop_sequences(stop: Any) -> list[str]:
    if isinstance(stop, str):
        return [stop] if stop else []
    sequences = _list(stop, "stop")
    for index, sequence in enumerate(sequences):
        if not isinstance(sequence, str):
            raise _expected(f"stop[{index}]", "a string", sequence)
    return sequences


def _check_scalars(body: dict[str, Any]) -> None:
    n = body.get("n")
    if n is not None and not _is_integer(n):
        raise _expected("n", "an integer", n)
    if n not in (None, 1):
        raise TranslationError("Claude models return one choice: n must be 1.")
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise _expected("stream", "a boolean", body["stream"])
    _optional_string(body.get("user"), "user")


def chat_request_to_messages(body: Any) -> dict[str, Any]:
    """An Anthropic Messages request equivalent to this Chat Completions request."""
    body = _object(body, "The body")
    model = _name(body.get("model"), "model")
    _check_scalars(body)
    chat_messages = body.get("messages")
    if not isinstance(chat_messages, list) or not chat_messages:
        raise TranslationError("messages must be a non-empty list.")
    system, messages = _messages(chat_messages)
    if not messages:
        raise TranslationError("messages must hold a user, assistant or tool message.")
    request: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": _max_tokens(body),
    }
    if system:
        request["system"] = system
    request.update(_sampling(body))
    stop = _stop_sequences(body.get("stop"))
    if stop:
        request["stop_sequences"] = stop
    tools = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(_list(body.get("tools"), "tools"))]
    if tools:
        request["tools"] = tools
    tool_choice = _tool_choice(body.get("tool_choice"))
    if tool_choice:
        request["tool_choice"] = tool_choice
    if body.get("user"):
        request["metadata"] = {"user_id": body["user"]}
    if body.get("stream"):
        request["stream"] = True
    return request


# Upstream answers and events are read leniently: a malformed one must not fail the client's
# request with a 500 or cut its stream, so what is not of the expected shape counts as absent.
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _member(data: Any, name: str) -> dict[str, Any]:
    """`data[name]` when both are objects, else an empty object."""
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _count(value: Any) -> int:
    return value if _is_integer(value) and value > 0 else 0


def _finish_reason(stop_reason: Any) -> str:
    return STOP_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    prompt = sum(
        _count(usage.get(name))
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    completion = _count(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    try:
        arguments = json.dumps(block.get("input", {}))
    except RecursionError:
        arguments = "{}"
    return {
        "id": _string(block.get("id")),
        "type": "function",
        "function": {"name": _string(block.get("name")), "arguments": arguments},
    }


def messages_response_to_chat(message: Any) -> dict[str, Any]:
    """The Chat Completions answer equivalent to an Anthropic Messages answer."""
    message = message if isinstance(message, dict) else {}
    content = message.get("content")
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    text = "".join(b["text"] for b in blocks if b.get("type") == "text" and _string(b.get("text")))
    tool_calls = [_tool_call(block) for block in blocks if block.get("type") == "tool_use"]
    reply: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{_string(message.get('id')) or ''}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _string(message.get("model")),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": _finish_reason(message.get("stop_reason")),
            }
        ],
        "usage": _usage(_member(message, "usage")),
    }


class ChatStreamTranslator:
    """Turns Anthropic stream events into Chat Completions chunks, one event at a time.

    Whatever the events, the chunks end with exactly one `data: [DONE]`: after an error
    event, at message_stop, or from `finish()` when the upstream stream ends without one.
    """

    def __init__(self, *, model: str, include_usage: bool):
        self.model = model
        self.include_usage = include_usage
        self.id = "chatcmpl-"
        self.created = int(time.time())
        self.usage: dict[str, Any] = {}
        self.finish_reason: str | None = None
        self.done = False
        self._tool_index: dict[int, int] = {}  # Anthropic block index → OpenAI tool call index

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return encode(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
        )

    def feed(self, event: SSEEvent) -> list[bytes]:
        data = event.json()
        if not isinstance(data, dict) or self.done:
            return []
        kind = _string(data.get("type")) or event.event
        if kind == "message_start":
            return self._message_start(_member(data, "message"))
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "content_block_delta":
            return self._block_delta(data)
        if kind == "message_delta":
            return self._message_delta(data)
        if kind == "message_stop":
            return self.finish()
        if kind == "error":
            return self._error(_member(data, "error"))
        return []

    def _message_start(self, message: dict[str, Any]) -> list[bytes]:
        self.id = f"chatcmpl-{_string(message.get('id')) or ''}"
        self.model = _string(message.get("model")) or self.model
        self.usage.update(_member(message, "usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _message_delta(self, data: dict[str, Any]) -> list[bytes]:
        self.usage.update({k: v for k, v in _member(data, "usage").items() if v is not None})
        reason = _string(_member(data, "delta").get("stop_reason"))
        if not reason:
            return []
        self.finish_reason = _finish_reason(reason)
        return [self._chunk({}, self.finish_reason)]

    @staticmethod
    def _block_index(data: dict[str, Any]) -> int:
        index = data.get("index")
        return index if _is_integer(index) else 0

    def _block_start(self, data: dict[str, Any]) -> list[bytes]:
        block = _member(data, "content_block")
        if block.get("type") != "tool_use":
            return []
        position = len(self._tool_index)
        self._tool_index[self._block_index(data)] = position
        call = {
            "index": position,
            "id": _string(block.get("id")),
            "type": "function",
            "function": {"name": _string(block.get("name")), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, data: dict[str, Any]) -> list[bytes]:
        delta = _member(data, "delta")
        if delta.get("type") == "text_delta" and _string(delta.get("text")) is not None:
            return [self._chunk({"content": delta["text"]})]
        if delta.get("type") == "input_json_delta":
            position = self._tool_index.get(self._block_index(data), 0)
            arguments = _string(delta.get("partial_json")) or ""
            return [
                self._chunk(
                    {"tool_calls": [{"index": position, "function": {"arguments": arguments}}]}
                )
            ]
        return []

    def _error(self, error: dict[str, Any]) -> list[bytes]:
        self.done = True
        error_type = _string(error.get("type"))
        error_type = error_type if error_type and _IDENTIFIER.match(error_type) else None
        body = {
            "error": {
                "message": "The upstream provider reported an error during the stream.",
                "type": error_type or "api_error",
                "code": error_type or "upstream_error",
            }
        }
        return [encode(body), encode("[DONE]")]

    def finish(self, *, error: bool = False) -> list[bytes]:
        """The closing chunks; called at message_stop, when the upstream stream ends, or
        (`error`: only the closing [DONE]) after the proxy reported a failure."""
        if self.done:
            return []
        self.done = True
        if error:
            return [encode("[DONE]")]
        out = []
        if self.finish_reason is None:
            out.append(self._chunk({}, "stop"))
        if self.include_usage:
            out.append(
                encode(
                    {
                        "id": self.id,
                        "object": "chat.completion.chunk",
                        "created": self.created,
                        "model": self.model,
                        "choices": [],
                        "usage": _usage(self.usage),
                    }
                )
            )
        out.append(encode("[DONE]"))
        return out
