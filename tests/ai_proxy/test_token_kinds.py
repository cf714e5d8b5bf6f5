"""Usage in the four token kinds of SPEC 20.1, from every dialect, JSON and streamed: into
the record, the day's totals and the cost, each kind at its catalog price."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import time_machine

from ai_proxy.models import DailyUsage, UsageRecord
from catalog.models import ModelCatalogEntry
from tests.ai_proxy.live_proxy import LiveProxy
from tests.fakes.upstream import Reply

MILLION = Decimal(1_000_000)


def price(model_id: str, **tokens: int) -> Decimal:
    """What the catalog's price table says these tokens cost, to the micro-dollar."""
    entry = ModelCatalogEntry.objects.get(pk=model_id)
    prices = {
        "input": entry.input_price_per_mtok,
        "write_5m": entry.cache_write_5m_price_per_mtok,
        "write_1h": entry.cache_write_1h_price_per_mtok,
        "read": entry.cache_read_price_per_mtok,
        "output": entry.output_price_per_mtok,
    }
    total = sum(count * prices[kind] for kind, count in tokens.items())
    return (total / MILLION).quantize(Decimal("0.000001"))


def kinds(record: UsageRecord | DailyUsage) -> tuple[int, int, int, int, int]:
    return (
        record.input_tokens,
        record.cache_write_5m_tokens,
        record.cache_write_1h_tokens,
        record.cache_read_tokens,
        record.output_tokens,
    )


def send(proxy: LiveProxy, path: str, body: dict, *, stream: bool) -> None:
    body = {**body, "stream": True} if stream else body
    with httpx.stream(
        "POST",
        f"{proxy.base}/{path}",
        json=body,
        headers={"Authorization": f"Bearer {proxy.token}"},
        timeout=30,
    ) as response:
        response.read()
    assert response.status_code == 200


CLAUDE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_cache_writes_and_reads_are_counted_and_priced_apart(proxy: LiveProxy, stream):
    proxy.upstream.answer_next(
        Reply(
            input_tokens=10,
            cache_write=1_000,
            cache_write_1h=500,
            cache_read=20_000,
            output_tokens=100,
        )
    )

    send(proxy, "anthropic/v1/messages", CLAUDE, stream=stream)

    record = UsageRecord.objects.get()
    assert kinds(record) == (10, 1_000, 500, 20_000, 100)
    expected = price(
        "claude-sonnet-4-6", input=10, write_5m=1_000, write_1h=500, read=20_000, output=100
    )
    assert record.cost_usd == expected
    day = DailyUsage.objects.get()
    assert kinds(day) == kinds(record)
    assert day.cost_usd == expected
    assert (record.pre_split, record.incomplete, record.estimated) == (False, False, False)


def test_the_spec_example_costs_a_fifth_of_what_full_price_input_would(proxy: LiveProxy):
    """SPEC 20.1: 10 uncached, 1 000 written, 20 000 read, 100 output on Claude Sonnet."""
    proxy.upstream.answer_next(
        Reply(input_tokens=10, cache_write=1_000, cache_read=20_000, output_tokens=100)
    )

    send(proxy, "anthropic/v1/messages", CLAUDE, stream=True)

    record = UsageRecord.objects.get()
    assert record.cost_usd == Decimal("0.011280")
    as_full_price_input = price("claude-sonnet-4-6", input=21_010, output=100)
    assert as_full_price_input == Decimal("0.064530")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "v1/chat/completions",
            {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]},
        ),
        ("v1/responses", {"model": "gpt-5.2", "input": "hi"}),
    ],
    ids=["chat", "responses"],
)
def test_openai_cached_input_is_a_cache_read_and_reasoning_part_of_output(
    proxy: LiveProxy, path, body, stream
):
    proxy.upstream.answer_next(
        Reply(input_tokens=1_100, cached_tokens=1_000, output_tokens=50, reasoning_tokens=20)
    )

    send(proxy, path, body, stream=stream)

    record = UsageRecord.objects.get()
    assert kinds(record) == (100, 0, 0, 1_000, 50)
    assert record.reasoning_tokens == 20
    assert record.cost_usd == price(body["model"], input=100, read=1_000, output=50)


def test_a_claude_model_on_chat_completions_keeps_the_anthropic_kinds(proxy: LiveProxy):
    proxy.upstream.answer_next(
        Reply(input_tokens=7, cache_write=300, cache_read=9_000, output_tokens=12)
    )
    body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}

    send(proxy, "v1/chat/completions", body, stream=True)

    record = UsageRecord.objects.get()
    assert kinds(record) == (7, 300, 0, 9_000, 12)


def test_the_input_budget_counts_input_and_cache_writes_but_not_reads(proxy: LiveProxy, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 1_000
    settings.AI_PROXY_DAILY_COST_CAP_USD = None
    proxy.upstream.answer_next(Reply(input_tokens=10, cache_read=50_000, output_tokens=1))
    proxy.upstream.answer_next(Reply(input_tokens=10, cache_write=990, output_tokens=1))

    reads_only = proxy.post("anthropic/v1/messages", CLAUDE)
    with_writes = proxy.post("anthropic/v1/messages", CLAUDE)
    over = proxy.post("anthropic/v1/messages", CLAUDE)

    assert (reads_only.status_code, with_writes.status_code) == (200, 200)
    assert over.status_code == 429
    assert over.json()["error"]["limit_name"] == "daily_input_tokens"
    assert over.json()["error"]["used"] == 1_010


def test_a_day_of_claude_code_fits_the_shipped_defaults_and_costs_what_the_table_says(
    proxy: LiveProxy,
):
    """SPEC 20.1's realistic day: 300 requests of 22 000 input tokens, 90 % of them cache
    reads (the rest written to the cache, and a little uncached), 300 output tokens each,
    one every two minutes from 07:00 UTC."""
    proxy.upstream.default = Reply(
        input_tokens=200, cache_write=2_000, cache_read=19_800, output_tokens=300
    )

    statuses = []
    with (
        time_machine.travel(datetime(2026, 12, 1, 7, 0, tzinfo=UTC)) as clock,
        httpx.Client(timeout=30) as client,
    ):
        for _ in range(300):
            response = client.post(
                f"{proxy.base}/anthropic/v1/messages",
                json=CLAUDE,
                headers={"Authorization": f"Bearer {proxy.token}"},
            )
            statuses.append(response.status_code)
            clock.shift(timedelta(minutes=2))

    assert statuses == [200] * 300
    one = price("claude-sonnet-4-6", input=200, write_5m=2_000, read=19_800, output=300)
    day = DailyUsage.objects.get()
    assert day.requests == 300
    assert day.cost_usd == one * 300
    assert sum(record.cost_usd for record in UsageRecord.objects.all()) == one * 300
