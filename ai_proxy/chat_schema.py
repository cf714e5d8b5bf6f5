"""What a chat completions request for a Claude model must be, as JSON Schema: exactly what
the translation to the Anthropic Messages API reads and checks (`translate.
chat_request_to_messages`), so that a request fits this schema if and only if it is
translated rather than refused with a 400.

OpenAPI 3.0 has no `null` type: `nullable` marks where null means absent. One rule JSON
Schema cannot spell, a string holding a JSON object (tool call arguments), is the custom
format `json-object`, described where it is used.
"""

from typing import Any

_STRING = {"type": "string"}
_NAME = {"type": "string", "minLength": 1}
# The largest integer the proxy's JSON reader keeps whole; larger ones are read as floats.
_LARGEST_INTEGER = 2**64 - 1


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


_FUNCTION_TYPE = {"type": "string", "enum": ["function"]}
_TEXT_PART = _object(
    {"type": {"type": "string", "enum": ["text"]}, "text": _STRING}, ["type", "text"]
)
_IMAGE_PART = _object(
    {
        "type": {"type": "string", "enum": ["image_url"]},
        "image_url": _object(
            {
                "url": {
                    "type": "string",
                    "description": "An http(s) URL, or a base64 data URL "
                    "(`data:<media type>;base64,<data>`).",
                    "pattern": "^(?:[Hh][Tt][Tt][Pp][Ss]?://|data:[^;,]+;base64,)",
                }
            },
            ["url"],
        ),
    },
    ["type", "image_url"],
)
# Where only the text is read (system, developer, assistant and tool messages): text parts
# need a string `text`, other parts are passed over.
_READ_PART = {
    "anyOf": [
        _TEXT_PART,
        {"type": "object", "properties": {"type": {"not": {"type": "string", "enum": ["text"]}}}},
    ]
}
_READ_CONTENT = _nullable({"anyOf": [_STRING, {"type": "array", "items": _READ_PART}]})
_USER_CONTENT = {
    "description": "Text, or text and image parts; empty text is left out.",
    "anyOf": [_STRING, {"type": "array", "items": {"oneOf": [_TEXT_PART, _IMAGE_PART]}}],
}
_ARGUMENTS = _nullable(
    {
        "description": "The arguments: an object, or a string holding one as JSON (RFC 8259; "
        "format `json-object`). Empty or null: no arguments.",
        "anyOf": [
            {"type": "object"},
            {"type": "string", "maxLength": 0},
            {"type": "string", "format": "json-object"},
        ],
    }
)
_TOOL_CALL = _object(
    {
        "id": _NAME,
        "type": _FUNCTION_TYPE,
        "function": _object({"name": _NAME, "arguments": _ARGUMENTS}, ["name"]),
    },
    ["id", "function"],
)


def _message(roles: list[str], properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return _object({"role": {"type": "string", "enum": roles}, **properties}, ["role", *required])


MESSAGE = {
    "oneOf": [
        _message(["system", "developer"], {"content": _READ_CONTENT}, []),
        _message(["user"], {"content": _USER_CONTENT}, ["content"]),
        _message(
            ["assistant"],
            {
                "content": _READ_CONTENT,
                "tool_calls": _nullable({"type": "array", "items": _TOOL_CALL}),
            },
            [],
        ),
        _message(["tool"], {"tool_call_id": _NAME, "content": _READ_CONTENT}, ["tool_call_id"]),
    ]
}

# A message that gives Claude nothing: system and developer text (it goes to `system`), a
# user message without text or images, an assistant message without text or tool calls.
# Written for messages that already fit MESSAGE: keywords without `type` pass what they
# do not apply to (null, an absent member).
_NO_TEXT = {
    "anyOf": [
        {"properties": {"type": {"not": {"enum": ["text"]}}}},
        {"properties": {"text": {"maxLength": 0}}},
    ]
}
_GIVES_NOTHING = {
    "anyOf": [
        {"properties": {"role": {"enum": ["system", "developer"]}}},
        {
            "properties": {
                "role": {"enum": ["user"]},
                "content": {
                    "maxLength": 0,
                    "items": {"properties": {"type": {"enum": ["text"]}, "text": {"maxLength": 0}}},
                },
            }
        },
        {
            "properties": {
                "role": {"enum": ["assistant"]},
                "content": {"maxLength": 0, "items": _NO_TEXT},
                "tool_calls": {"maxItems": 0},
            }
        },
    ]
}

MESSAGES = {
    "type": "array",
    "description": "At least one user, assistant or tool message that gives Claude something: "
    "text, an image, a tool call or a tool result.",
    "minItems": 1,
    "items": MESSAGE,
    "not": {"items": _GIVES_NOTHING},
}

_TOKENS = _nullable({"type": "integer", "minimum": 1, "maximum": _LARGEST_INTEGER})
_TOOL = _object(
    {
        "type": _FUNCTION_TYPE,
        "function": _object(
            {
                "name": _NAME,
                "description": _nullable(_STRING),
                "parameters": _nullable({"type": "object"}),
            },
            ["name"],
        ),
    },
    ["function"],
)
_TOOL_CHOICE = _nullable(
    {
        "anyOf": [
            {"type": "string", "enum": ["auto", "required", "none"]},
            _object(
                {"type": _FUNCTION_TYPE, "function": _object({"name": _NAME}, ["name"])},
                ["function"],
            ),
        ]
    }
)

# The members the translation reads, besides `model` and `stream`.
PROPERTIES = {
    "messages": MESSAGES,
    "max_completion_tokens": _TOKENS,
    "max_tokens": {
        **_TOKENS,
        "description": "Used when `max_completion_tokens` is not given; 4096 when neither is.",
    },
    "temperature": _nullable({"type": "number"}),
    "top_p": _nullable({"type": "number"}),
    "n": _nullable({"type": "integer", "minimum": 1, "maximum": 1}),
    "stop": _nullable({"anyOf": [_STRING, {"type": "array", "items": _STRING}]}),
    "tools": _nullable({"type": "array", "items": _TOOL}),
    "tool_choice": _TOOL_CHOICE,
    "user": _nullable(_STRING),
}
