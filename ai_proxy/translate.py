"""OpenAI Chat Completions ⇄ Anthropic Messages, for `claude-*` models on /ai/v1/chat/completions.

Requests: system and developer messages are hoisted into `system` (joined by blank lines),
consecutive messages of the same role are merged, tool calls become `tool_use` blocks and
tool messages `tool_result` blocks, `max_tokens` defaults to 4096. Answers: text and tool
calls back into one choice, stop reasons mapped, ids `chatcmpl-<message id>`. Streams are
translated event by event (`ChatStreamTranslator`), ending with one `data: [DONE]`; an
upstream error event becomes an error chunk, never silence.
"""

import json
import time
from typing import Any

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
    """The request uses something the Anthropic Messages API cannot express (a 400)."""


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        ]
        if all(isinstance(text, str) for text in texts):
            return "".join(texts)
    raise TranslationError("Message content must be a string or a list of parts.")


def _image_block(part: dict[str, Any]) -> dict[str, Any]:
    image = part.get("image_url") or {}
    url = image.get("url", "") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise TranslationError("An image_url part needs an image_url object with a url.")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0]
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError("Message content must be a string or a list of parts.")
    blocks = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text", "")
            if not isinstance(text, str):
                raise TranslationError("A text part's text must be a string.")
            blocks.append({"type": "text", "text": text})
        elif kind == "image_url":
            blocks.append(_image_block(part))
        else:
            raise TranslationError(
                f"Content parts of type {kind!r} are not supported for Claude models."
            )
    return blocks


def _tool_arguments(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except (TypeError, ValueError):
        raise TranslationError("Tool call arguments must be a JSON object.") from None
    if not isinstance(parsed, dict):
        raise TranslationError("Tool call arguments must be a JSON object.")
    return parsed


def _assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = _text_of(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list) or not all(isinstance(call, dict) for call in calls):
        raise TranslationError("tool_calls must be a list of objects.")
    for call in calls:
        function = call.get("function") or {}
        if not isinstance(function, dict):
            raise TranslationError("A tool call's function must be an object.")
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": _tool_arguments(function.get("arguments")),
            }
        )
    return blocks


def _tool_result_block(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id"),
        "content": _text_of(message.get("content")),
    }


def _messages(chat_messages: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    merged: list[dict[str, Any]] = []
    for message in chat_messages:
        if not isinstance(message, dict):
            raise TranslationError("Each message must be an object.")
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content")))
            continue
        if role == "user":
            anthropic_role, blocks = "user", _user_blocks(message.get("content"))
        elif role == "assistant":
            anthropic_role, blocks = "assistant", _assistant_blocks(message)
        elif role == "tool":
            anthropic_role, blocks = "user", [_tool_result_block(message)]
        else:
            raise TranslationError(f"Unknown message role {role!r}.")
        if not blocks:
            continue
        if merged and merged[-1]["role"] == anthropic_role:
            merged[-1]["content"].extend(blocks)
        else:
            merged.append({"role": anthropic_role, "content": blocks})
    return "\n\n".join(part for part in system if part), merged


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise TranslationError("tools must be a list.")
    converted = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not function.get("name"):
            raise TranslationError("Only function tools with a name are supported.")
        converted.append(
            {
                "name": function["name"],
                "description": function.get("description", ""),
                "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
            }
        )
    return converted


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice in (None, "auto"):
        return {"type": "auto"} if choice else None
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"type": "tool", "name": choice["function"].get("name")}
    raise TranslationError("Unsupported tool_choice.")


def chat_request_to_messages(body: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages request equivalent to this Chat Completions request."""
    if body.get("n", 1) != 1:
        raise TranslationError("Claude models return one choice: n must be 1.")
    chat_messages = body.get("messages")
    if not isinstance(chat_messages, list) or not chat_messages:
        raise TranslationError("messages must be a non-empty list.")
    system, messages = _messages(chat_messages)
    request: dict[str, Any] = {
        "model": body["model"],
        "messages": messages,
        "max_tokens": body.get("max_completion_tokens")
        or body.get("max_tokens")
        or DEFAULT_MAX_TOKENS,
    }
    if system:
        request["system"] = system
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            request[name] = body[name]
    stop = body.get("stop")
    if stop:
        if not isinstance(stop, (str, list)):
            raise TranslationError("stop must be a string or a list of strings.")
        request["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        request["tools"] = _tools(body["tools"])
    tool_choice = _tool_choice(body.get("tool_choice"))
    if tool_choice:
        request["tool_choice"] = tool_choice
    if isinstance(body.get("user"), str):
        request["metadata"] = {"user_id": body["user"]}
    if body.get("stream"):
        request["stream"] = True
    return request


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    prompt = sum(
        int(usage.get(name) or 0)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    completion = int(usage.get("output_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def messages_response_to_chat(message: dict[str, Any]) -> dict[str, Any]:
    """The Chat Completions answer equivalent to an Anthropic Messages answer."""
    text = "".join(b.get("text", "") for b in message.get("content", []) if b.get("type") == "text")
    tool_calls = [
        {
            "id": block.get("id"),
            "type": "function",
            "function": {
                "name": block.get("name"),
                "arguments": json.dumps(block.get("input", {})),
            },
        }
        for block in message.get("content", [])
        if block.get("type") == "tool_use"
    ]
    reply: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{message.get('id', '')}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model"),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": STOP_REASONS.get(message.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": _usage(message.get("usage") or {}),
    }


class ChatStreamTranslator:
    """Turns Anthropic stream events into Chat Completions chunks, one event at a time."""

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
        kind = data.get("type") or event.event
        if kind == "message_start":
            message = data.get("message") or {}
            self.id = f"chatcmpl-{message.get('id', '')}"
            self.model = message.get("model") or self.model
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "content_block_delta":
            return self._block_delta(data)
        if kind == "message_delta":
            self.usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            reason = (data.get("delta") or {}).get("stop_reason")
            if reason:
                self.finish_reason = STOP_REASONS.get(reason, "stop")
                return [self._chunk({}, self.finish_reason)]
            return []
        if kind == "message_stop":
            return self.finish()
        if kind == "error":
            return self._error(data.get("error") or {})
        return []

    def _block_start(self, data: dict[str, Any]) -> list[bytes]:
        block = data.get("content_block") or {}
        if block.get("type") != "tool_use":
            return []
        position = len(self._tool_index)
        self._tool_index[data.get("index", 0)] = position
        call = {
            "index": position,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, data: dict[str, Any]) -> list[bytes]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if delta.get("type") == "input_json_delta":
            position = self._tool_index.get(data.get("index", 0), 0)
            call = {"index": position, "function": {"arguments": delta.get("partial_json", "")}}
            return [self._chunk({"tool_calls": [call]})]
        return []

    def _error(self, error: dict[str, Any]) -> list[bytes]:
        self.done = True
        body = {
            "error": {
                "message": "The upstream provider reported an error during the stream.",
                "type": error.get("type") or "api_error",
                "code": error.get("type") or "upstream_error",
            }
        }
        return [encode(body), encode("[DONE]")]

    def finish(self) -> list[bytes]:
        """The closing chunks; called at message_stop, or when the upstream stream ends."""
        if self.done:
            return []
        self.done = True
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
