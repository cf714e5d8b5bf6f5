"""The SSE splitter: lines end at CR, LF or CRLF only, events at a blank line, whatever the
chunking; each event keeps its bytes exactly as they came."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_proxy.sse import SSEEvent, SSESplitter, parse_event


def split(*chunks: bytes) -> list[SSEEvent]:
    splitter = SSESplitter()
    events = [event for chunk in chunks for event in splitter.feed(chunk)]
    return events + splitter.flush()


def delta(text: str) -> bytes:
    data = json.dumps({"type": "content_block_delta", "delta": {"text": text}}, ensure_ascii=False)
    return f"event: content_block_delta\ndata: {data}\n\n".encode()


# Line boundaries to str.splitlines(), not in an event stream; JSON carries them unescaped.
NOT_LINE_ENDS = ["\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("character", NOT_LINE_ENDS, ids=[hex(ord(c)) for c in NOT_LINE_ENDS])
def test_a_delta_holding_a_unicode_line_break_is_one_event_with_its_json_intact(character):
    raw = delta(f"before{character}after")

    (event,) = split(raw)

    assert event.event == "content_block_delta"
    assert event.json()["delta"]["text"] == f"before{character}after"
    assert event.raw == raw


def test_control_characters_splitlines_breaks_on_stay_in_their_line():
    (event,) = split(b"data: a\x0bb\x0cc\x1cd\x1de\x1ef\n\n")

    assert event.data == "a\x0bb\x0cc\x1cd\x1de\x1ef"


@pytest.mark.parametrize("line_end", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
def test_each_of_the_three_line_ends_separates_lines_and_events(line_end):
    stream = (
        f"event: a{line_end}data: 1{line_end}data: 2{line_end}{line_end}data: 3{line_end}{line_end}"
    )

    events = split(stream.encode())

    assert [(e.event, e.data) for e in events] == [("a", "1\n2"), (None, "3")]
    assert b"".join(e.raw for e in events) == stream.encode()


def test_mixed_line_ends_and_comments_are_parsed_as_the_spec_says():
    stream = b": keep-alive\r\nevent: x\rdata:no space\ndata:  two spaces\r\n\rid: 7\nretry: 5\n\n"

    events = split(stream)

    assert [(e.event, e.data) for e in events] == [("x", "no space\n two spaces"), (None, "")]
    assert [e.raw for e in events] == [
        b": keep-alive\r\nevent: x\rdata:no space\ndata:  two spaces\r\n\r",
        b"id: 7\nretry: 5\n\n",
    ]


STREAM = (
    b'event: message_start\r\ndata: {"t": "h\xc3\xa9llo \xe2\x80\xa8 \xf0\x9f\x98\x80"}\r\n\r\n'
    b"data: lone CR\r\r"
    b"data: [DONE]\n\n"
)


def test_an_event_split_at_any_byte_arrives_the_same():
    whole = split(STREAM)

    assert [e.data for e in whole] == ['{"t": "héllo \u2028 😀"}', "lone CR", "[DONE]"]
    for cut in range(len(STREAM) + 1):
        assert split(STREAM[:cut], STREAM[cut:]) == whole, cut


def test_an_event_fed_one_byte_at_a_time_arrives_the_same():
    assert split(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == split(STREAM)


def test_a_cr_at_the_end_of_a_chunk_waits_to_see_whether_an_lf_follows():
    splitter = SSESplitter()

    assert splitter.feed(b"data: x\r\n\r") == []
    (event,) = splitter.feed(b"\ndata: y")
    assert event.raw == b"data: x\r\n\r\n"
    assert [e.data for e in splitter.flush()] == ["y"]


def test_what_is_left_at_the_end_of_the_stream_is_flushed_as_an_event():
    splitter = SSESplitter()

    assert splitter.feed(b"data: complete\n\ndata: cut") == [parse_event(b"data: complete\n\n")]
    assert [e.data for e in splitter.flush()] == ["cut"]
    assert splitter.flush() == []


def test_bytes_of_no_event_at_the_end_of_the_stream_are_kept_for_the_relay():
    events = split(b"data: a\n\n", b" \r")

    assert [(e.raw, e.data) for e in events] == [(b"data: a\n\n", "a"), (b" \r", "")]


def test_bytes_that_are_not_utf8_do_not_stop_the_stream():
    (bad, good) = split(b"data: \xff\xfe\n\n", b"data: ok\n\n")

    assert bad.data == "\ufffd\ufffd"
    assert bad.json() is None
    assert good.data == "ok"


def test_data_nested_too_deeply_for_the_json_parser_is_not_json():
    (event,) = split(b"data: " + b"[" * 100_000 + b"\n\n")

    assert event.json() is None


# Field values as a provider may send them: text with any character but CR and LF.
values = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=30
)
line_ends = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def event_streams(draw):
    """A stream of events with any of the three line ends, anywhere."""
    stream = b""
    for _ in range(draw(st.integers(0, 6))):
        for field in draw(st.lists(st.sampled_from(["data", "event", "id", ""]), max_size=4)):
            stream += f"{field}: {draw(values)}".encode() + draw(line_ends)
        stream += draw(line_ends)
    if draw(st.booleans()):  # a last event cut short
        stream += f"data: {draw(values)}".encode()
    return stream


@given(event_streams(), st.data())
def test_any_chunking_of_a_stream_yields_the_events_of_the_whole_stream(stream, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]

    events = split(*chunks)

    assert events == split(stream)
    assert b"".join(event.raw for event in events) == stream


@given(st.binary(max_size=300), st.data())
def test_any_bytes_split_the_same_whatever_the_chunking(stream, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]

    events = split(*chunks)

    assert events == split(stream)
    assert b"".join(event.raw for event in events) == stream


@given(st.binary(max_size=300).map(lambda raw: raw.replace(b"\r", b"\n")), st.data())
def test_a_stream_of_lf_line_ends_splits_as_the_general_scanner_splits_it(stream, data):
    """Without a CR the splitter takes its shortcut (`_feed_lf`); it must find the events
    the line-by-line scanner (`_feed_any`) finds, a CR arriving later included."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    if data.draw(st.booleans()):
        chunks.append(b"data: late\r\n\r\n")
    general = SSESplitter()
    expected = [e for chunk in chunks for e in general._feed_any(chunk)] + general.flush()

    assert split(*chunks) == expected
