"""The seam later work plugs into: observers see every upstream chunk and the outcome; a
stream rewriter decides what the client receives."""

import httpx

from ai_proxy import proxy as proxy_module
from ai_proxy.exchange import Exchange, ExchangeObserver
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy


class Recorder(ExchangeObserver):
    def __init__(self):
        self.chunks: list[bytes] = []
        self.finished: list[Exchange] = []

    def on_chunk(self, exchange, chunk):
        self.chunks.append(chunk)

    async def on_finish(self, exchange):
        self.finished.append(exchange)


class Shouting:
    """Rewrites every chunk, and adds an event once the upstream is done."""

    def feed(self, chunk: bytes) -> bytes:
        return chunk.upper()

    def close(self) -> bytes:
        return b"event: extra\ndata: {}\n\n"


def stream(live: LiveProxy, path: str, body: dict) -> bytes:
    with httpx.stream(
        "POST",
        f"{live.base}/{path}",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {live.token}"},
    ) as response:
        assert response.status_code == 200
        return response.read()


def test_observers_see_the_upstream_bytes_and_the_outcome(proxy: LiveProxy, monkeypatch):
    recorder = Recorder()
    original = proxy_module.new_exchange

    def observed(route):
        exchange = original(route)
        exchange.observers.insert(0, recorder)
        return exchange

    monkeypatch.setattr(proxy_module, "new_exchange", observed)

    received = stream(proxy, "anthropic/v1/messages", CLAUDE_MESSAGE)

    assert b"".join(recorder.chunks) == received
    (outcome,) = recorder.finished
    assert (outcome.status, outcome.streamed, outcome.completed) == (200, True, True)
    assert outcome.model == "claude-haiku-4-5"


def test_a_rewriter_decides_what_the_client_of_a_stream_receives(proxy: LiveProxy, monkeypatch):
    original = proxy_module.new_exchange

    def rewritten(route):
        exchange = original(route)
        exchange.rewriter = Shouting()
        return exchange

    monkeypatch.setattr(proxy_module, "new_exchange", rewritten)

    received = stream(proxy, "v1/chat/completions", CHAT)

    assert received.startswith(b"DATA: {")
    assert b"DATA: [DONE]" in received
    assert received.endswith(b"event: extra\ndata: {}\n\n")
