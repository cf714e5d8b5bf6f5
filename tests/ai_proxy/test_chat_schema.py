"""The schema of a chat completions request for a Claude model says exactly what the
translation reads (SPEC §26): a request fits it if and only if `chat_request_to_messages`
translates it, rather than refusing it with a 400.

The schema is checked as schemathesis checks it (jsonschema-rs, Draft 4 for OpenAPI 3.0,
`nullable` read as "or null") on the request as sent; the translation reads it as the proxy
parses it.
"""

import json
from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_proxy import chat_schema
from tests.ai_proxy.test_translate_bad_input import (
    CLAUDE,
    HI,
    MALFORMED,
    assistant,
    body,
    call,
    json_values,
    request_shapes,
    translation_outcome,
    user_part,
)


def json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable`, spelled in JSON Schema."""
    if isinstance(schema, list):
        return [json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: json_schema(value) for key, value in schema.items() if key != "nullable"}
    return {"anyOf": [converted, {"type": "null"}]} if schema.get("nullable") else converted


def _refuse(constant: str) -> None:
    raise ValueError(constant)


def holds_a_json_object(text: str) -> bool:
    """The `json-object` format: JSON text (RFC 8259, so no NaN or Infinity) of an object."""
    try:
        return isinstance(json.loads(text, parse_constant=_refuse), dict)
    except (ValueError, RecursionError):
        return False


CLAUDE_REQUEST = {
    "type": "object",
    "properties": {
        # Stand-ins for what the proxy checks before translating: the model is one of the
        # catalog (an enum in the served schema), and a null `stream` is refused already.
        "model": {"type": "string", "minLength": 1},
        "stream": {"type": "boolean", "nullable": True},
        **chat_schema.PROPERTIES,
    },
    "required": ["model", "messages"],
}
VALIDATOR = jsonschema_rs.Draft4Validator(
    json_schema(CLAUDE_REQUEST),
    formats={"json-object": holds_a_json_object},
    validate_formats=True,
)


# Values just past a rule: the wrong type of a right value, nearly empty, out of bounds.
EDGES = [0, -1, 1.0, 2, 2**64, True, "", " ", "text", "function", "user", "{}", [], {}, [{}]]
WRONG = json_values | st.sampled_from(EDGES)


def rarely_wrong(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly `valid`; one time in twelve, a value just past a rule or any JSON value."""
    return st.integers(0, 11).flatmap(lambda roll: valid if roll else WRONG)


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> Any:
    """An object of these members, each rarely wrong; rarely one required member left out."""
    members = st.fixed_dictionaries(
        {key: rarely_wrong(value) for key, value in required.items()},
        optional={key: rarely_wrong(value) for key, value in (optional or {}).items()},
    )
    if not required:
        return members
    left_out = st.sampled_from([None] * 11 * len(required) + list(required))
    return st.tuples(members, left_out).map(
        lambda drawn: {k: v for k, v in drawn[0].items() if k != drawn[1]}
    )


def requests() -> st.SearchStrategy[Any]:
    """Requests of the shape the translation reads, here and there a little wrong."""
    text = st.text(max_size=4)
    name = st.text(min_size=1, max_size=4)
    nullable = st.none().__or__
    lists = st.lists
    text_part = obj({"type": st.just("text"), "text": text})
    urls = ["https://x.test/a", "HTTP://x.test/b", "data:image/png;base64,AAAA", "data:a;base64,"]
    image_part = obj(
        {"type": st.just("image_url"), "image_url": obj({"url": st.sampled_from(urls)})}
    )
    other_part = obj({}, {"type": st.sampled_from(["refusal", "image_url"])})
    read_content = nullable(text | lists(rarely_wrong(text_part | other_part), max_size=3))
    user_content = text | lists(rarely_wrong(text_part | image_part), max_size=3)
    objects = st.dictionaries(text, json_values, max_size=2)
    arguments = nullable(objects | objects.map(json.dumps) | st.just(""))
    function = obj({"name": name}, {"arguments": arguments})
    tool_call = obj({"id": name, "function": function}, {"type": st.just("function")})
    tool_calls = nullable(lists(rarely_wrong(tool_call), max_size=2))
    roles = st.sampled_from
    message = st.one_of(
        obj({"role": roles(["system", "developer"])}, {"content": read_content}),
        obj({"role": st.just("user"), "content": user_content}),
        obj({"role": st.just("assistant")}, {"content": read_content, "tool_calls": tool_calls}),
        obj({"role": st.just("tool"), "tool_call_id": name}, {"content": read_content}),
    )
    description: dict[str, Any] = {
        "description": nullable(text),
        "parameters": nullable(st.just({})),
    }
    tool = obj({"function": obj({"name": name}, description)}, {"type": st.just("function")})
    tool_choice = st.sampled_from(["auto", "required", "none"]) | obj(
        {"function": obj({"name": name})}, {"type": st.just("function")}
    )
    tokens = nullable(st.integers(1, 2**64 - 1))
    return obj(
        {
            "model": st.just(CLAUDE),
            "messages": lists(rarely_wrong(message), min_size=1, max_size=4),
        },
        {
            "max_tokens": tokens,
            "max_completion_tokens": tokens,
            "temperature": nullable(st.floats(allow_nan=False, allow_infinity=False)),
            "top_p": nullable(st.integers() | st.floats(0, 1)),
            "n": nullable(st.just(1)),
            "stop": nullable(text | lists(text, max_size=2)),
            "tools": nullable(lists(rarely_wrong(tool), max_size=2)),
            "tool_choice": nullable(tool_choice),
            "user": nullable(text),
            "stream": st.booleans(),
            "stream_options": json_values,
        },
    )


def translated(chat: Any) -> bool:
    """Whether the proxy translates this request, as it reads it off the wire."""
    _request, error = translation_outcome(orjson.loads(json.dumps(chat)))
    return error is None


def tool(**function: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", **function}}


def image(url: str) -> dict[str, Any]:
    return user_part({"type": "image_url", "image_url": {"url": url}})


def only_tool_call(**function: Any) -> dict[str, Any]:
    return assistant(tool_calls=[call(function={"name": "f", **function})])


# Requests at the edge of a rule, on either side of it.
EDGES_OF_RULES = {
    "n is 1": body(n=1),
    "n is 1.0": body(n=1.0),
    "max_tokens is the largest integer JSON keeps whole": body(max_tokens=2**64 - 1),
    "max_tokens is one more": body(max_tokens=2**64),
    "max_tokens is 1 beside a null max_completion_tokens": body(
        max_tokens=1, max_completion_tokens=None
    ),
    "temperature is a large integer": body(temperature=2**70),
    "an assistant message with only a tool call": body(only_tool_call()),
    "tool call arguments as an object": body(only_tool_call(arguments={"a": [1]})),
    "tool call arguments as JSON text": body(only_tool_call(arguments=' {"a": [1]} ')),
    "empty tool call arguments": body(only_tool_call(arguments="")),
    "tool call arguments that are not JSON": body(only_tool_call(arguments="{")),
    "tool call arguments of a JSON string": body(only_tool_call(arguments='"{}"')),
    "a tool message without content": body({"role": "tool", "tool_call_id": "c"}),
    "a tool message whose content parts are not text": body(
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "refusal"}]}
    ),
    "an empty user message and an assistant one with only empty text": body(
        {"role": "user", "content": []}, assistant(content=[{"type": "text", "text": ""}])
    ),
    "a system message and an image": body({"role": "system"}, image("data:a;base64,")),
    "an image URL in capitals": body(image("HTTPS://x.test/a.png")),
    "an image part without image_url": body(user_part({"type": "image_url"})),
    "an image URL that is empty": body(image("")),
    "an image data URL with a charset": body(image("data:text/plain;charset=utf-8;base64,AA")),
    "a tool with null parameters and description": body(
        tools=[tool(parameters=None, description=None)]
    ),
    "a tool with a list of parameters": body(tools=[tool(parameters=[])]),
    "a tool without a type": body(tools=[{"function": {"name": "f"}}]),
    "a tool with a null type": body(tools=[{"type": None, "function": {"name": "f"}}]),
    "tool_choice naming a function without a type": body(tool_choice={"function": {"name": "f"}}),
    "tool_choice with an empty name": body(tool_choice={"function": {"name": ""}}),
    "an empty stop sequence": body(stop=""),
    "a user of null": body(HI, user=None),
}


@pytest.mark.parametrize("chat", EDGES_OF_RULES.values(), ids=EDGES_OF_RULES.keys())
def test_the_schema_and_the_translation_agree_at_the_edge_of_each_rule(chat):
    assert VALIDATOR.is_valid(chat) == translated(chat)


@pytest.mark.parametrize(("chat", "_message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_every_request_the_translation_refuses_is_outside_the_schema(chat, _message):
    assert not VALIDATOR.is_valid(chat)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(requests(), request_shapes(), json_values))
def test_a_request_fits_the_schema_exactly_when_the_translation_reads_it(chat):
    # The schema judges what the client sends; the translation reads what the proxy parsed.
    assert VALIDATOR.is_valid(chat) == translated(chat)


def test_the_schema_itself_is_valid_json_schema():
    jsonschema_rs.meta.validate(json_schema(CLAUDE_REQUEST))
