"""Every inference answered 2xx is metered (SPEC §10), streamed or not, in each dialect."""

from decimal import Decimal

import httpx
import pytest

from ai_proxy.models import DailyUsage
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, RESPONSE, LiveProxy
from tests.ai_proxy.usage_helpers import no_usage_records_after, usage_records
from tests.fakes.upstream import Fail, Reply
from workspaces.models import Task

ROUTES = [
    ("anthropic/v1/messages", CLAUDE_MESSAGE, "claude-haiku-4-5", "anthropic.messages"),
    ("v1/chat/completions", CHAT, "gpt-4.1-mini", "openai.chat_completions"),
    ("v1/responses", RESPONSE, "gpt-4.1", "openai.responses"),
]
PRICES = {  # USD per million input / output tokens, as seeded
    "claude-haiku-4-5": (Decimal(1), Decimal(5)),
    "gpt-4.1-mini": (Decimal("0.4"), Decimal("1.6")),
    "gpt-4.1": (Decimal(2), Decimal(8)),
}


def read_stream(proxy: LiveProxy, path: str, body: dict) -> bytes:
    with httpx.stream(
        "POST",
        f"{proxy.base}/{path}",
        json={**body, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        return response.read()


@pytest.mark.parametrize(("path", "body", "model", "route"), ROUTES)
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_each_answer_is_recorded_with_the_counts_the_provider_reported(
    proxy: LiveProxy, ws, path, body, model, route, streamed
):
    task = Task.objects.create(workspace=ws.workspace, title="refactor")
    proxy.upstream.answer_next(Reply(input_tokens=1234, output_tokens=567))

    if streamed:
        read_stream(proxy, path, body)
    else:
        assert proxy.post(path, body).status_code == 200

    (record,) = usage_records(1)
    assert (record.input_tokens, record.output_tokens) == (1234, 567)
    assert (record.model, record.route, record.streamed, record.status) == (
        model,
        route,
        streamed,
        200,
    )
    assert (record.user, record.workspace_id, record.project, record.task) == (
        ws.workspace.user,
        ws.workspace.pk,
        ws.workspace.project,
        task,
    )
    price_in, price_out = PRICES[model]
    exact = (1234 * price_in + 567 * price_out) / 1_000_000
    assert record.cost_usd == exact.quantize(Decimal("0.000001"))  # micro-dollars
    assert record.latency_ms >= 0
    assert record.ttfb_ms is not None
    day = DailyUsage.objects.get(user=ws.workspace.user)
    assert (day.requests, day.input_tokens, day.output_tokens) == (1, 1234, 567)
    assert day.cost_usd == record.cost_usd


@pytest.mark.parametrize(("path", "body", "model", "route"), ROUTES)
def test_a_stream_whose_text_holds_line_separators_is_relayed_and_metered(
    proxy: LiveProxy, path, body, model, route
):
    # Line breaks to str.splitlines(), not to the SSE format: the Responses API repeats the
    # whole text in its final event, the one that carries the usage.
    text = "one\u2028two\u2029three\x85four"
    proxy.upstream.answer_next(Reply(text=text, input_tokens=12, output_tokens=34))

    received = read_stream(proxy, path, body)

    assert text.encode() in received
    (record,) = usage_records(1)
    assert (record.route, record.input_tokens, record.output_tokens) == (route, 12, 34)


def test_the_chat_usage_chunk_is_asked_for_upstream_and_removed_for_the_client(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(input_tokens=11, output_tokens=22))

    received = read_stream(proxy, "v1/chat/completions", CHAT)

    assert proxy.upstream.last.json()["stream_options"] == {"include_usage": True}
    assert b"prompt_tokens" not in received
    assert received.rstrip().endswith(b"data: [DONE]")
    (record,) = usage_records(1)
    assert (record.input_tokens, record.output_tokens) == (11, 22)


def test_a_client_that_asked_for_the_usage_chunk_gets_it(proxy: LiveProxy):
    proxy.upstream.answer_next(Reply(input_tokens=11, output_tokens=22))

    stream = proxy.openai().chat.completions.create(
        **CHAT, stream=True, stream_options={"include_usage": True}
    )
    usage = [chunk.usage for chunk in stream if chunk.usage is not None]

    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(11, 22)]
    assert usage_records(1)[0].output_tokens == 22


def test_a_stream_the_client_cuts_short_records_what_was_seen(proxy: LiveProxy):
    proxy.upstream.answer_next(
        Reply(text="one two three four five six", input_tokens=40, output_tokens=6, chunk_delay=0.3)
    )

    with httpx.stream(
        "POST",
        f"{proxy.base}/anthropic/v1/messages",
        json={**CLAUDE_MESSAGE, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
        timeout=30,
    ) as response:
        first = next(response.iter_bytes())
    assert b"message_start" in first
    proxy.upstream.wait_for_disconnect()

    (record,) = usage_records(1)
    assert record.input_tokens == 40
    assert record.output_tokens < 6  # the final count never arrived
    assert record.streamed is True


def test_count_tokens_is_not_metered(proxy: LiveProxy):
    response = proxy.post("anthropic/v1/messages/count_tokens", CLAUDE_MESSAGE)

    assert response.status_code == 200
    assert no_usage_records_after()


@pytest.mark.parametrize(("path", "body", "_model", "_route"), ROUTES)
def test_upstream_errors_are_not_metered(proxy: LiveProxy, path, body, _model, _route, one_try):
    proxy.upstream.answer_next(Fail(status=500))

    assert proxy.post(path, body).status_code == 500
    assert no_usage_records_after()


def test_refused_requests_are_not_metered(proxy: LiveProxy):
    assert proxy.post("v1/chat/completions", {**CHAT, "model": "no-such-model"}).status_code == 400
    assert no_usage_records_after()


def test_usage_adds_up_over_the_day(proxy: LiveProxy, ws):
    for tokens in (10, 20, 30):
        proxy.upstream.answer_next(Reply(input_tokens=tokens, output_tokens=1))
        proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    records = usage_records(3)
    day = DailyUsage.objects.get(user=ws.workspace.user)
    assert day.requests == len(records) == 3
    assert day.input_tokens == sum(r.input_tokens for r in records) == 60
    assert day.cost_usd == sum(r.cost_usd for r in records)
