"""Chat Completions ⇄ Messages translation under bad input: a malformed request is a
`TranslationError` naming the field (the proxy answers 400), and a malformed upstream
answer or event is read as far as it makes sense, never raising."""

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_proxy.sse import SSESplitter, encode
from ai_proxy.translate import (
    ChatStreamTranslator,
    TranslationError,
    chat_request_to_messages,
    messages_response_to_chat,
)

CLAUDE = "claude-haiku-4-5"
HI = {"role": "user", "content": "hi"}


def body(*messages: Any, **extra: Any) -> dict[str, Any]:
    return {"model": CLAUDE, "messages": list(messages) or [HI], **extra}


def assistant(**fields: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, **fields}


def call(**fields: Any) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": "f"}, **fields}


def user_part(part: Any) -> dict[str, Any]:
    return {"role": "user", "content": [part]}


MALFORMED = {
    "the body is a list": ([HI], "The body must be an object, not a list."),
    "no model": ({"messages": [HI]}, "model must be a non-empty string, not null."),
    "the model is a number": (
        {"model": 4, "messages": [HI]},
        "model must be a non-empty string, not a number.",
    ),
    "messages is an object": (
        {"model": CLAUDE, "messages": {"role": "user"}},
        "messages must be a non-empty list.",
    ),
    "a message is null": (body(None), "messages[0] must be an object, not null."),
    "a role is a list": (
        body({"role": ["user"], "content": "x"}),
        "messages[0].role must be one of system, developer, user, assistant, tool.",
    ),
    "a role is unknown": (
        body({"role": "wizard", "content": "x"}),
        "messages[0].role must be one of system, developer, user, assistant, tool.",
    ),
    "only a system message": (
        body({"role": "system", "content": "be brief"}),
        "messages must hold a user, assistant or tool message.",
    ),
    "system content is a number": (
        body({"role": "system", "content": 5}, HI),
        "messages[0].content must be a string or a list of parts, not a number.",
    ),
    "a system text part's text is null": (
        body({"role": "developer", "content": [{"type": "text", "text": None}]}, HI),
        "messages[0].content[0].text must be a string, not null.",
    ),
    "user content is null": (
        body({"role": "user", "content": None}),
        "messages[0].content must be a string or a list of parts, not null.",
    ),
    "a user part is a string": (
        body(user_part("hello")),
        "messages[0].content[0] must be an object, not a string.",
    ),
    "a text part's text is a number": (
        body(user_part({"type": "text", "text": 5})),
        "messages[0].content[0].text must be a string, not a number.",
    ),
    "a part type Claude has no equivalent for": (
        body(user_part({"type": "input_audio", "input_audio": {}})),
        "messages[0].content[0]: parts of type 'input_audio' are not supported for Claude.",
    ),
    "a part type that is an object": (
        body(user_part({"type": {"nested": 1}})),
        "messages[0].content[0]: parts of type an object are not supported for Claude.",
    ),
    "image_url is a string": (
        body(user_part({"type": "image_url", "image_url": "https://example.com/a.png"})),
        "messages[0].content[0].image_url must be an object, not a string.",
    ),
    "image_url is null": (
        body(user_part({"type": "image_url", "image_url": None})),
        "messages[0].content[0].image_url must be an object, not null.",
    ),
    "an image url is a number": (
        body(user_part({"type": "image_url", "image_url": {"url": 5}})),
        "messages[0].content[0].image_url.url must be a non-empty string, not a number.",
    ),
    "an image data URL that is not base64": (
        body(user_part({"type": "image_url", "image_url": {"url": "data:image/png,abc"}})),
        "messages[0].content[0].image_url.url must be an http(s) URL or a base64 data URL",
    ),
    "an image URL of another scheme": (
        body(user_part({"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}})),
        "messages[0].content[0].image_url.url must be an http(s) URL or a base64 data URL",
    ),
    "an image data URL without a media type": (
        body(user_part({"type": "image_url", "image_url": {"url": "data:;base64,AAAA"}})),
        "messages[0].content[0].image_url.url must be an http(s) URL or a base64 data URL",
    ),
    "only empty text": (
        body({"role": "user", "content": [{"type": "text", "text": ""}]}, assistant(content="")),
        "messages must hold a user, assistant or tool message.",
    ),
    "tool_calls is a number": (
        body(HI, assistant(tool_calls=5)),
        "messages[1].tool_calls must be a list, not a number.",
    ),
    "a tool call is a number": (
        body(HI, assistant(tool_calls=[1])),
        "messages[1].tool_calls[0] must be an object, not a number.",
    ),
    "a tool call's function is a string": (
        body(HI, assistant(tool_calls=[call(function="x")])),
        "messages[1].tool_calls[0].function must be an object, not a string.",
    ),
    "a tool call without an id": (
        body(HI, assistant(tool_calls=[call(id=None)])),
        "messages[1].tool_calls[0].id must be a non-empty string, not null.",
    ),
    "a tool call of another type": (
        body(HI, assistant(tool_calls=[call(type="custom")])),
        "messages[1].tool_calls[0].type must be 'function'.",
    ),
    "a tool call's name is a number": (
        body(HI, assistant(tool_calls=[call(function={"name": 7})])),
        "messages[1].tool_calls[0].function.name must be a non-empty string, not a number.",
    ),
    "tool call arguments are a number": (
        body(HI, assistant(tool_calls=[call(function={"name": "f", "arguments": 5})])),
        "messages[1].tool_calls[0].function.arguments must be a string holding a JSON object",
    ),
    "tool call arguments are a JSON list": (
        body(HI, assistant(tool_calls=[call(function={"name": "f", "arguments": "[1]"})])),
        "messages[1].tool_calls[0].function.arguments must be a JSON object.",
    ),
    "tool call arguments that are JSON only to Python (NaN)": (
        body(HI, assistant(tool_calls=[call(function={"name": "f", "arguments": '{"a": NaN}'})])),
        "messages[1].tool_calls[0].function.arguments must be a JSON object.",
    ),
    "tool call arguments nested too deeply": (
        body(HI, assistant(tool_calls=[call(function={"name": "f", "arguments": "[" * 50_000})])),
        "messages[1].tool_calls[0].function.arguments must be a JSON object.",
    ),
    "assistant content parts hold a non-string text": (
        body(HI, assistant(content=[{"type": "text", "text": ["x"]}])),
        "messages[1].content[0].text must be a string, not a list.",
    ),
    "a tool message without tool_call_id": (
        body(HI, {"role": "tool", "content": "rain"}),
        "messages[1].tool_call_id must be a non-empty string, not null.",
    ),
    "a tool message's content is an object": (
        body(HI, {"role": "tool", "tool_call_id": "call_1", "content": {"text": "rain"}}),
        "messages[1].content must be a string or a list of parts, not an object.",
    ),
    "a tool message's content part is null": (
        body(HI, {"role": "tool", "tool_call_id": "call_1", "content": [None]}),
        "messages[1].content[0] must be an object, not null.",
    ),
    "tools is a number": (body(tools=5), "tools must be a list, not a number."),
    "a tool is a string": (body(tools=["f"]), "tools[0] must be an object, not a string."),
    "a tool without a function": (
        body(tools=[{"type": "function"}]),
        "tools[0].function must be an object, not null.",
    ),
    "a tool of another type": (
        body(tools=[{"type": "web_search"}]),
        "tools[0].type: only function tools are supported for Claude.",
    ),
    "a tool's parameters are a list": (
        body(tools=[{"type": "function", "function": {"name": "f", "parameters": []}}]),
        "tools[0].function.parameters must be an object, not a list.",
    ),
    "a tool's description is a number": (
        body(tools=[{"type": "function", "function": {"name": "f", "description": 1}}]),
        "tools[0].function.description must be a string, not a number.",
    ),
    "tool_choice is an unknown word": (body(tool_choice="always"), "tool_choice must be"),
    "tool_choice is a number": (body(tool_choice=1), "tool_choice must be"),
    "tool_choice names no function": (
        body(tool_choice={"type": "function", "function": "f"}),
        "tool_choice.function must be an object, not a string.",
    ),
    "tool_choice's name is null": (
        body(tool_choice={"type": "function", "function": {"name": None}}),
        "tool_choice.function.name must be a non-empty string, not null.",
    ),
    "stop is a number": (body(stop=5), "stop must be a list, not a number."),
    "a stop sequence is a number": (
        body(stop=["END", 5]),
        "stop[1] must be a string, not a number.",
    ),
    "max_tokens is a string": (body(max_tokens="100"), "max_tokens must be a positive integer."),
    "max_tokens is a float": (body(max_tokens=10.5), "max_tokens must be a positive integer."),
    "max_tokens is true": (body(max_tokens=True), "max_tokens must be a positive integer."),
    "max_tokens is zero": (body(max_tokens=0), "max_tokens must be a positive integer."),
    "max_tokens is a string beside a good max_completion_tokens": (
        body(max_completion_tokens=100, max_tokens="100"),
        "max_tokens must be a positive integer.",
    ),
    "max_completion_tokens is negative": (
        body(max_completion_tokens=-1),
        "max_completion_tokens must be a positive integer.",
    ),
    "temperature is a string": (
        body(temperature="0.5"),
        "temperature must be a number, not a string.",
    ),
    "top_p is a boolean": (body(top_p=True), "top_p must be a number, not a boolean."),
    "n is a string": (body(n="1"), "n must be an integer, not a string."),
    "n is two": (body(n=2), "Claude models return one choice: n must be 1."),
    "stream is a string": (body(stream="yes"), "stream must be a boolean, not a string."),
    "user is a number": (body(user=42), "user must be a string, not a number."),
}


@pytest.mark.parametrize(("request_body", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_is_a_translation_error_naming_the_field(request_body, message):
    with pytest.raises(TranslationError) as raised:
        chat_request_to_messages(request_body)

    assert str(raised.value).startswith(message)


def test_an_error_message_never_quotes_what_the_client_wrote():
    secret_looking = "sk-ant-" + "x" * 5000

    for request_body in (
        body({"role": secret_looking, "content": "x"}),
        body(user_part({"type": secret_looking})),
        body(user_part({"type": "image_url", "image_url": {"url": "data:" + secret_looking}})),
        body(HI, assistant(tool_calls=[call(function={"name": "f", "arguments": secret_looking})])),
        body(tool_choice=secret_looking),
    ):
        with pytest.raises(TranslationError) as raised:
            chat_request_to_messages(request_body)
        assert "sk-ant-" not in str(raised.value)


def test_nulls_for_optional_fields_mean_absent():
    request = chat_request_to_messages(
        body(
            {"role": "user", "content": "hi", "name": None},
            assistant(content="hello", tool_calls=None),
            max_tokens=None,
            max_completion_tokens=None,
            temperature=None,
            top_p=None,
            n=None,
            stop=None,
            tools=None,
            tool_choice=None,
            stream=None,
            user=None,
        )
    )

    assert request == {
        "model": CLAUDE,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        ],
        "max_tokens": 4096,
    }


# --- Properties -------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def near(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape, sometimes any JSON value in its place."""
    return st.one_of(valid, valid, json_values)


def request_shapes() -> st.SearchStrategy[Any]:
    text_part = st.fixed_dictionaries({"type": st.just("text"), "text": near(st.text())})
    urls = [
        *("https://x.test/a.png", "HTTP://x.test/b.png", "data:image/png;base64,AAAA"),
        *("ftp://x.test/a.png", "data:image/png,AAAA", "data:;base64,AAAA", "x", ""),
    ]
    image = st.fixed_dictionaries({"url": near(st.sampled_from(urls))})
    image_part = st.fixed_dictionaries({"type": st.just("image_url"), "image_url": near(image)})
    other_part = st.fixed_dictionaries({"type": near(st.sampled_from(["refusal", "input_audio"]))})
    content = near(st.text() | st.lists(near(text_part | image_part | other_part), max_size=3))
    arguments = ['{"a": 1}', "{}", " {} ", "[", "", "[1]", '"x"', '{"a": NaN}', '{"a": 1e999}']
    function = st.fixed_dictionaries(
        {"name": near(st.text()), "arguments": near(st.sampled_from(arguments))}
    )
    tool_call = st.fixed_dictionaries(
        {"id": near(st.text()), "type": near(st.just("function")), "function": near(function)}
    )
    message = st.fixed_dictionaries(
        {"role": near(st.sampled_from(["system", "developer", "user", "assistant", "tool"]))},
        optional={
            "content": content,
            "tool_calls": near(st.lists(near(tool_call), max_size=2)),
            "tool_call_id": near(st.text()),
        },
    )
    tool_function = st.fixed_dictionaries(
        {"name": near(st.text())},
        optional={"description": near(st.text()), "parameters": near(st.just({"type": "object"}))},
    )
    tool = st.fixed_dictionaries(
        {"type": near(st.just("function")), "function": near(tool_function)}
    )
    choices = ["auto", "required", "none", {"type": "function", "function": {"name": "f"}}]
    return st.fixed_dictionaries(
        {"model": near(st.just(CLAUDE)), "messages": near(st.lists(near(message), max_size=4))},
        optional={
            "max_tokens": near(st.integers(1, 10_000)),
            "max_completion_tokens": near(st.integers(1, 10_000)),
            "temperature": near(st.floats(0, 1)),
            "top_p": near(st.floats(0, 1)),
            "n": near(st.integers(0, 2)),
            "stop": near(st.text() | st.lists(st.text(), max_size=3)),
            "tools": near(st.lists(near(tool), max_size=2)),
            "tool_choice": near(st.sampled_from(choices)),
            "stream": near(st.booleans()),
            "user": near(st.text()),
        },
    )


BLOCK_TYPES = {"text", "image", "tool_use", "tool_result"}


def assert_valid_messages_request(request: Any) -> None:
    assert isinstance(request, dict)
    assert isinstance(request["model"], str)
    assert request["model"]
    assert type(request["max_tokens"]) is int
    assert request["max_tokens"] >= 1
    assert isinstance(request["messages"], list)
    assert request["messages"]
    for message in request["messages"]:
        assert message["role"] in ("user", "assistant")
        assert isinstance(message["content"], list)
        assert message["content"]
        assert {block["type"] for block in message["content"]} <= BLOCK_TYPES
    roles = [message["role"] for message in request["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles))  # same roles are merged
    assert isinstance(request.get("system", ""), str)
    json.dumps(request, allow_nan=False)


def translation_outcome(chat: Any) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return chat_request_to_messages(chat), None
    except TranslationError as error:
        return None, str(error)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, request_shapes()))
def test_any_request_translates_to_a_valid_messages_request_or_a_translation_error(chat):
    request, error = translation_outcome(chat)

    if error is not None:
        assert len(error) < 200  # names a field; quotes nothing the client wrote
    else:
        assert_valid_messages_request(request)


def answer_shapes() -> st.SearchStrategy[Any]:
    block = st.fixed_dictionaries(
        {"type": near(st.sampled_from(["text", "tool_use", "thinking"]))},
        optional={"text": near(st.text()), "id": near(st.text()), "input": json_values},
    )
    usage = st.dictionaries(
        st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens"]),
        near(st.integers(0, 10**6)),
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "id": near(st.text()),
            "model": near(st.text()),
            "content": near(st.lists(near(block), max_size=3)),
            "stop_reason": near(st.sampled_from(["end_turn", "tool_use", "max_tokens", "x"])),
            "usage": near(usage),
        },
    )


FINISH_REASONS = {"stop", "length", "tool_calls", "content_filter"}


@given(st.one_of(json_values, answer_shapes()))
def test_any_upstream_answer_translates_to_a_chat_completion(message):
    chat = messages_response_to_chat(message)

    (choice,) = chat["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] is None or isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in FINISH_REASONS
    usage = chat["usage"]
    assert all(type(usage[name]) is int and usage[name] >= 0 for name in usage)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    json.dumps(chat)


def event_shapes() -> st.SearchStrategy[Any]:
    names = st.sampled_from(
        [
            *("message_start", "content_block_start", "content_block_delta", "message_delta"),
            *("message_stop", "error", "ping"),
        ]
    )
    delta = st.fixed_dictionaries(
        {"type": near(st.sampled_from(["text_delta", "input_json_delta"]))},
        optional={
            "text": near(st.text()),
            "partial_json": near(st.text()),
            "stop_reason": near(st.text()),
        },
    )
    data = st.fixed_dictionaries(
        {"type": near(names)},
        optional={
            "index": near(st.integers(0, 3)),
            "message": near(
                st.fixed_dictionaries({}, optional={"id": json_values, "usage": json_values})
            ),
            "content_block": near(st.fixed_dictionaries({"type": near(st.just("tool_use"))})),
            "delta": near(delta),
            "usage": near(st.dictionaries(st.sampled_from(["output_tokens"]), json_values)),
            "error": near(st.fixed_dictionaries({"type": json_values})),
        },
    )
    payload = st.one_of(data, json_values.map(json.dumps), st.text(max_size=20))
    return st.tuples(st.none() | names, payload)


def datas_of(stream: bytes) -> list[str]:
    splitter = SSESplitter()
    return [event.data for event in splitter.feed(stream) + splitter.flush()]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_shapes(), max_size=8), st.booleans(), st.binary(max_size=40))
def test_any_upstream_event_stream_translates_to_chunks_ending_in_one_done(
    events, include_usage, garbage
):
    translator = ChatStreamTranslator(model=CLAUDE, include_usage=include_usage)
    splitter = SSESplitter()
    out = b""
    for name, payload in events:
        for event in splitter.feed(encode(payload, event=name)):
            out += b"".join(translator.feed(event))
    # Bytes that are no event at all, then the stream is cut: the end closes it.
    for event in splitter.feed(garbage) + splitter.flush():
        out += b"".join(translator.feed(event))
    out += b"".join(translator.finish())

    datas = datas_of(out)
    assert datas[-1] == "[DONE]"
    assert datas.count("[DONE]") == 1
    chunks = [json.loads(data) for data in datas[:-1]]
    assert all(isinstance(chunk, dict) for chunk in chunks)
    assert translator.finish() == []


def test_an_error_event_of_any_shape_ends_the_stream_with_one_done():
    translator = ChatStreamTranslator(model=CLAUDE, include_usage=True)
    splitter = SSESplitter()
    out = b""
    for error in ({"type": {"nested": "x" * 500}}, "overloaded", None):
        for event in splitter.feed(encode({"type": "error", "error": error}, event="error")):
            out += b"".join(translator.feed(event))
    out += b"".join(translator.finish())

    datas = datas_of(out)
    assert datas == [datas[0], "[DONE]"]
    assert json.loads(datas[0])["error"]["type"] == "api_error"
