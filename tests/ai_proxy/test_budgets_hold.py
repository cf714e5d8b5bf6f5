"""Budgets that hold (SPEC 20.3): the usage of an answer is committed before its end reaches
the client, each user has a bounded number of requests in flight across workers, and only
answers the client received as a success leave a usage row."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings as django_settings

from ai_proxy.models import DailyUsage, UsageRecord
from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE, LiveProxy
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.raw import RawUpstream
from tests.fakes.upstream import FakeUpstream, Hang, Reply
from tests.processes import ServerProcess, database_url
from tests.support import make_workspace

OUTPUT_BUDGET = 50
PER_ANSWER = 5


def output_budget(settings, parallel: int = 8) -> None:
    settings.AI_PROXY_DAILY_OUTPUT_TOKENS = OUTPUT_BUDGET
    settings.AI_PROXY_MAX_PARALLEL_REQUESTS = parallel
    settings.AI_PROXY_RATE_LIMIT_RPM = 10_000


def test_a_client_that_waits_for_each_answer_never_gets_past_a_budget(proxy: LiveProxy, settings):
    output_budget(settings)
    proxy.upstream.default = Reply(output_tokens=PER_ANSWER)

    statuses = [proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code for _ in range(14)]

    assert statuses == [200] * (OUTPUT_BUDGET // PER_ANSWER) + [429] * 4
    assert DailyUsage.objects.get().output_tokens == OUTPUT_BUDGET


def test_streams_are_recorded_before_their_final_event_so_the_next_request_sees_them(
    proxy: LiveProxy, settings
):
    output_budget(settings)
    proxy.upstream.default = Reply(output_tokens=PER_ANSWER)
    statuses = []
    for _ in range(12):
        with httpx.stream(
            "POST",
            f"{proxy.base}/anthropic/v1/messages",
            json={**CLAUDE_MESSAGE, "stream": True},
            headers={"Authorization": f"Bearer {proxy.token}"},
            timeout=30,
        ) as response:
            body = response.read()
        statuses.append(response.status_code)
        if response.status_code == 200:
            assert b"message_stop" in body

    assert statuses == [200] * 10 + [429] * 2


def parallel_statuses(
    urls: list[str], token: str, count: int, *, retry_in_flight: bool = False
) -> list[int]:
    """`count` requests at once (over the servers in turn); with `retry_in_flight`, a request
    refused for the cap in flight is sent again, as the SDKs do with a 429."""

    async def one(client: httpx.AsyncClient, url: str) -> int:
        while True:
            response = await client.post(
                f"{url}/ai/anthropic/v1/messages",
                json=CLAUDE_MESSAGE,
                headers={"Authorization": f"Bearer {token}"},
            )
            limit = (
                response.json()["error"].get("limit_name") if response.status_code == 429 else None
            )
            if not (retry_in_flight and limit == "max_parallel_requests"):
                return response.status_code
            await asyncio.sleep(0.02)

    async def all_at_once() -> list[int]:
        limits = httpx.Limits(max_connections=count)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            calls = [one(client, urls[n % len(urls)]) for n in range(count)]
            return list(await asyncio.gather(*calls))

    return asyncio.run(all_at_once())


def assert_the_overshoot_is_bounded_by_the_requests_in_flight(statuses: list[int], parallel: int):
    served = statuses.count(200)
    assert set(statuses) <= {200, 429}
    assert UsageRecord.objects.count() == served
    assert DailyUsage.objects.get().output_tokens == served * PER_ANSWER
    # At most the requests in flight when the budget was reached went past it.
    assert OUTPUT_BUDGET <= served * PER_ANSWER <= OUTPUT_BUDGET + parallel * PER_ANSWER


def test_a_hundred_requests_at_once_overshoot_a_budget_by_no_more_than_those_in_flight(
    proxy: LiveProxy, live_url, settings
):
    output_budget(settings, parallel=8)
    proxy.upstream.default = Reply(output_tokens=PER_ANSWER, delay=0.2)

    statuses = parallel_statuses([live_url], proxy.token, 100, retry_in_flight=True)

    assert_the_overshoot_is_bounded_by_the_requests_in_flight(statuses, parallel=8)


@pytest.fixture
def processes_env(fake_upstream: FakeUpstream) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "AI_PROXY_ANTHROPIC_UPSTREAM": fake_upstream.url,
        "AI_PROXY_ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY,
        "AI_PROXY_TOKEN_MODE": "callback",
        "AI_PROXY_DAILY_OUTPUT_TOKENS": str(OUTPUT_BUDGET),
        "AI_PROXY_RATE_LIMIT_RPM": "10000",
    }


@pytest.mark.postgres
def test_on_three_processes_the_budget_and_the_cap_in_flight_hold_too(
    transactional_db, model_catalog, alice, fake_upstream, processes_env, tmp_path
):
    fake_upstream.default = Reply(output_tokens=PER_ANSWER, delay=0.2)
    ws = make_workspace(alice)
    servers = [
        ServerProcess(
            {**processes_env, "AI_PROXY_MAX_PARALLEL_REQUESTS": "8"}, tmp_path / f"{n}.log"
        ).start()
        for n in range(3)
    ]
    try:
        urls = [server.url for server in servers]
        statuses = parallel_statuses(urls, ws.token, 100, retry_in_flight=True)
    finally:
        for server in servers:
            server.stop()

    assert_the_overshoot_is_bounded_by_the_requests_in_flight(statuses, parallel=8)


def test_past_the_cap_in_flight_a_request_is_refused_until_one_ends(proxy: LiveProxy, settings):
    settings.AI_PROXY_MAX_PARALLEL_REQUESTS = 2
    proxy.upstream.default = Reply(delay=0.5)

    statuses = parallel_statuses([proxy.base.removesuffix("/ai")], proxy.token, 3)
    after = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert sorted(statuses) == [200, 200, 429]
    assert after.status_code == 200


def test_a_refused_request_a_client_gone_or_an_upstream_failure_all_give_their_slot_back(
    proxy: LiveProxy, settings
):
    settings.AI_PROXY_MAX_PARALLEL_REQUESTS = 1
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    proxy.upstream.answer_next(Hang(after_chunks=1))  # times out mid-stream
    proxy.upstream.answer_next(Reply(chunks=40, chunk_delay=0.05))  # the client leaves

    timed_out = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "stream": True})
    with httpx.stream(
        "POST",
        f"{proxy.base}/anthropic/v1/messages",
        json={**CLAUDE_MESSAGE, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
    ) as response:
        next(response.iter_bytes())
    assert proxy.upstream.wait_for_disconnect()
    refused = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "model": "not-a-model"})
    time.sleep(0.2)

    assert b"event: error" in timed_out.content
    assert refused.status_code == 400
    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200


@pytest.mark.postgres
def test_the_slots_of_a_worker_that_died_are_taken_back(
    transactional_db, model_catalog, alice, fake_upstream, processes_env, tmp_path
):
    ws = make_workspace(alice)
    env = {**processes_env, "AI_PROXY_MAX_PARALLEL_REQUESTS": "1", "AI_PROXY_READ_TIMEOUT": "1.5"}
    fake_upstream.default = Hang()
    # Both started first, so the survivor answers within moments of the death, well inside
    # the dead worker's slot (twice the read timeout), however long a server takes to start.
    doomed = ServerProcess(env, tmp_path / "doomed.log").start()
    survivor = ServerProcess(env, tmp_path / "survivor.log").start()
    headers = {"Authorization": f"Bearer {ws.token}"}
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            in_flight = pool.submit(
                httpx.post,
                f"{doomed.url}/ai/anthropic/v1/messages",
                json=CLAUDE_MESSAGE,
                headers=headers,
                timeout=30,
            )
            # Once the upstream has the request, the worker holds its slot (taken before).
            deadline = time.monotonic() + 30
            while not fake_upstream.received and time.monotonic() < deadline:
                time.sleep(0.01)
            doomed.kill()
            with pytest.raises(httpx.TransportError):
                in_flight.result()
        fake_upstream.default = Reply()
        url = f"{survivor.url}/ai/anthropic/v1/messages"
        first = httpx.post(url, json=CLAUDE_MESSAGE, headers=headers, timeout=30)
        time.sleep(3.5)  # twice the read timeout: the dead worker's slot expires
        later = httpx.post(url, json=CLAUDE_MESSAGE, headers=headers, timeout=30)
    finally:
        doomed.kill()
        survivor.stop()

    assert first.status_code == 429
    assert first.json()["error"]["limit_name"] == "max_parallel_requests"
    assert later.status_code == 200


@pytest.fixture
def raw_upstream(proxy: LiveProxy, settings):
    server = RawUpstream().start()
    settings.AI_PROXY_ANTHROPIC_UPSTREAM = server.url
    yield server
    server.stop()


def test_an_answer_whose_body_breaks_after_its_headers_writes_no_usage_row(
    proxy: LiveProxy, raw_upstream: RawUpstream
):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    raw_upstream.script.append(lambda _body: (head + b'{"id": "msg_', True))

    response = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert response.status_code == 502
    assert not UsageRecord.objects.exists()
    assert not DailyUsage.objects.exists()


def test_a_stream_the_upstream_cuts_is_recorded_as_relayed_and_marked(proxy: LiveProxy, settings):
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    proxy.upstream.answer_next(Hang(after_chunks=6))  # three text deltas, then silence

    response = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "stream": True})

    assert b"event: error" in response.content
    record = UsageRecord.objects.get()
    assert record.incomplete is True
    # message_delta (the final usage) never came: output is estimated from the text relayed.
    assert record.estimated is True
    assert record.output_tokens >= 1
