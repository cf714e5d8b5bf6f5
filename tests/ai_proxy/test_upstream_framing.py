"""The upstream client (aiohttp) against an upstream that frames its answers in every way
HTTP/1.1 allows, and some it does not: each client gets exactly its own answer."""

import time
from collections.abc import Iterator

import pytest

from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE, LiveProxy
from tests.fakes.raw import JSON_MESSAGE, RawUpstream, answer


@pytest.fixture(scope="module")
def _raw_server() -> Iterator[RawUpstream]:
    server = RawUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def raw(_raw_server: RawUpstream, proxy: LiveProxy, settings) -> RawUpstream:
    _raw_server.script.clear()
    settings.AI_PROXY_ANTHROPIC_UPSTREAM = _raw_server.url
    return _raw_server


def send(proxy: LiveProxy) -> tuple[int, bytes]:
    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)
    return response.status_code, response.content


def test_an_answer_framed_by_the_end_of_the_connection_is_relayed_whole(proxy, raw):
    raw.script.append(lambda _body: (answer(length=False), True))

    assert send(proxy) == (200, JSON_MESSAGE)


def test_an_informational_answer_before_the_real_one_is_skipped(proxy, raw):
    early_hints = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    raw.script.append(lambda _body: (early_hints + answer(), False))

    assert send(proxy) == (200, JSON_MESSAGE)


def test_a_second_answer_glued_to_the_first_never_reaches_anyone(proxy, raw):
    stray = answer(b'{"type":"message","content":[{"type":"text","text":"not yours"}]}')
    raw.script.append(lambda _body: (answer() + stray, False))

    first = send(proxy)
    second = send(proxy)

    assert first == (200, JSON_MESSAGE)
    assert second == (200, JSON_MESSAGE)
    assert b"not yours" not in first[1] + second[1]


def test_bytes_sent_on_an_idle_connection_do_not_answer_the_next_request(proxy, raw):
    assert send(proxy) == (200, JSON_MESSAGE)
    raw.send_on_idle_connections(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\npartial")
    time.sleep(0.2)

    assert send(proxy) == (200, JSON_MESSAGE)
