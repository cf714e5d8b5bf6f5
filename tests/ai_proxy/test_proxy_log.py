"""One `ai_proxy.request` JSON line per request, with no body, prompt, key or token in it."""

import asyncio
import logging
import time

import httpx
import pytest

from ai_proxy import metrics
from ai_proxy.exchange import Exchange
from catalog.routes import ANTHROPIC_MESSAGES
from sam_project.logs import JsonFormatter
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY
from tests.fakes.upstream import Fail, Reply
from workspaces.models import WorkspaceToken
from workspaces.tokens import hash_token


@pytest.fixture(autouse=True)
def _info_logs(caplog):
    caplog.set_level(logging.INFO, logger="ai_proxy")


def proxy_lines(caplog, expected=1):
    """The request lines, once `expected` are in (a stream's line follows its last byte)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [r for r in caplog.records if r.getMessage() == "ai_proxy.request"]
        if len(lines) >= expected or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def test_each_request_writes_one_line_with_its_facts(proxy: LiveProxy, caplog, ws):
    proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    (line,) = proxy_lines(caplog)
    assert line.route == "anthropic.messages"
    assert line.model == "claude-haiku-4-5"
    assert line.provider == "anthropic"
    assert line.status == 200
    assert line.streamed is False
    assert line.workspace_id == ws.id
    assert line.token_id == WorkspaceToken.objects.get(token_hash=hash_token(proxy.token)).pk
    assert line.latency_ms > 0
    assert line.error is None


def test_a_stream_is_logged_when_it_ends(proxy: LiveProxy, caplog):
    with httpx.stream(
        "POST",
        f"{proxy.base}/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
    ) as response:
        response.read()

    (line,) = proxy_lines(caplog)
    assert line.streamed is True
    assert line.status == 200
    assert line.ttfb_ms <= line.latency_ms


def test_refusals_and_upstream_failures_are_logged_with_their_code(
    proxy: LiveProxy, caplog, one_try
):
    proxy.upstream.answer_next(Fail(503, "overloaded_error"))
    proxy.post("v1/chat/completions", CHAT, token="")
    proxy.post("v1/chat/completions", CHAT)

    refused, failed = proxy_lines(caplog, expected=2)
    assert (refused.status, refused.error, refused.workspace_id) == (401, "invalid_token", None)
    assert (failed.status, failed.upstream_status, failed.error) == (503, 503, "upstream_error")


def test_a_client_that_leaves_mid_stream_is_logged_as_such(proxy: LiveProxy, caplog):
    proxy.upstream.answer_next(Reply(chunks=50, chunk_delay=0.05))
    with httpx.stream(
        "POST",
        f"{proxy.base}/anthropic/v1/messages",
        json={**CLAUDE_MESSAGE, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
    ) as response:
        next(response.iter_bytes())

    (line,) = proxy_lines(caplog)
    assert line.client_disconnected is True


def test_no_log_line_holds_a_token_a_key_or_a_prompt(proxy: LiveProxy, caplog):
    secret_prompt = "my secret prompt 8c1f"
    body = {**CLAUDE_MESSAGE, "messages": [{"role": "user", "content": secret_prompt}]}
    proxy.post("anthropic/v1/messages", body)
    proxy.post("anthropic/v1/messages", body, token="sam_cb_" + "z" * 43)
    proxy.upstream.answer_next(Fail(500, message="upstream says 8c1f"))
    proxy.post("v1/chat/completions", CHAT)

    formatter = JsonFormatter()
    text = "\n".join(formatter.format(record) for record in caplog.records)
    for secret in (proxy.token, "z" * 43, ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY, "8c1f"):
        assert secret not in text


def test_a_request_cancelled_while_its_slot_is_released_still_writes_its_line(caplog):
    """With Redis the slot's release is a network call; a client that leaves right at the end
    cancels the request there. The release goes on (shielded), and the line is written."""
    released = []

    class SlowSlot:
        async def release(self) -> None:
            await asyncio.sleep(0.05)
            released.append(True)

    async def scenario() -> None:
        exchange = Exchange(route=ANTHROPIC_MESSAGES, slot=SlowSlot(), status=200)  # type: ignore[arg-type]
        finishing = asyncio.create_task(exchange.finish())
        await asyncio.sleep(0.01)
        finishing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await finishing
        await asyncio.sleep(0.1)

    in_flight = metrics.IN_FLIGHT._value.get()
    asyncio.run(scenario())

    assert [r.status for r in caplog.records if r.getMessage() == "ai_proxy.request"] == [200]
    assert released == [True]
    assert metrics.IN_FLIGHT._value.get() == in_flight
