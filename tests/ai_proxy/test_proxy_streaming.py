"""Streams are relayed as they arrive, uncompressed, and closed upstream when the client
goes away."""

import json
import time

import httpx
import pytest

from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy
from tests.fakes.upstream import Reply


def stream_request(proxy: LiveProxy, path: str, body: dict, **headers: str):
    return httpx.stream(
        "POST",
        f"{proxy.base}/{path}",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}", **headers},
        timeout=30,
    )


def test_each_chunk_reaches_the_client_when_the_upstream_sends_it(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(text="one two three four five", chunks=5, chunk_delay=0.3))
    arrivals = []

    with stream_request(proxy, "anthropic/v1/messages", CLAUDE_MESSAGE) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and '"text_delta"' in line:
                arrivals.append(time.monotonic())

    sent = proxy.upstream.last.chunk_times[3:8]  # the five deltas follow three opening events
    assert len(arrivals) == 5
    assert arrivals[0] < sent[-1] - 1.0  # the first was read long before the last was sent
    for arrived, sent_at in zip(arrivals, sent, strict=True):
        assert arrived - sent_at < 0.15


def test_a_stream_is_not_compressed_nor_cached(proxy: LiveProxy):
    with stream_request(
        proxy, "v1/chat/completions", CHAT, **{"Accept-Encoding": "gzip, br"}
    ) as response:
        body = response.read()

    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in response.headers
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert body.endswith(b"data: [DONE]\n\n")


def test_the_stream_is_relayed_byte_for_byte(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(text="exactly these bytes"))

    with stream_request(proxy, "anthropic/v1/messages", CLAUDE_MESSAGE) as response:
        body = response.read()

    events = [
        json.loads(line[5:]) for line in body.decode().splitlines() if line.startswith("data:")
    ]
    assert [e["type"] for e in events][:2] == ["message_start", "content_block_start"]
    assert events[-1] == {"type": "message_stop"}
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == (
        "exactly these bytes"
    )


def test_a_client_that_goes_away_mid_stream_closes_the_upstream_stream(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(chunks=100, chunk_delay=0.1))

    with stream_request(proxy, "anthropic/v1/messages", CLAUDE_MESSAGE) as response:
        for line in response.iter_lines():
            if '"text_delta"' in line:
                break

    assert proxy.upstream.wait_for_disconnect(timeout=5)
    assert len(proxy.upstream.last.chunk_times) < 20


def test_a_client_that_goes_away_before_the_answer_closes_the_upstream_request(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(delay=30))

    with pytest.raises(httpx.ReadTimeout):
        proxy.post("v1/chat/completions", CHAT, timeout=0.5)

    assert proxy.upstream.wait_for_disconnect(timeout=5)
