"""GET /metrics (SPEC 23): the series move as requests are made, add up across two server
processes in multiprocess mode, and the page asks for METRICS_TOKEN when it is set."""

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ai_proxy.models import UserProxyLimit
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import Fail, Reply
from tests.processes import server_processes
from tests.support import LiveWorkspace, make_workspace

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-token-for-the-test-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(base: str, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(f"{base}/metrics", headers=headers, timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def value(page: dict, name: str, **labels: str) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def proxy(live_url: str, proxy_upstream, ws: LiveWorkspace) -> LiveProxy:
    return LiveProxy(base=f"{live_url}/ai", token=ws.proxy_token(), upstream=proxy_upstream)


def test_a_request_moves_its_count_timings_upstream_try_and_tokens_by_kind(
    proxy: LiveProxy, live_url: str
):
    proxy.upstream.default = Reply(
        input_tokens=100, output_tokens=7, cache_read=40, cache_write=20, cache_write_1h=0
    )
    before = scrape(live_url)

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200

    after = scrape(live_url)
    route, model = "anthropic.messages", CLAUDE_MESSAGE["model"]
    labels = {"route": route, "model": model, "status": "200", "source": "platform"}
    assert moved(before, after, "sam_proxy_requests_total", **labels) == 1
    assert moved(before, after, "sam_proxy_request_duration_seconds_count", route=route) == 1
    assert moved(before, after, "sam_proxy_time_to_first_byte_seconds_count", route=route) == 1
    assert (
        moved(before, after, "sam_proxy_upstream_attempts_total", provider="anthropic", key="env")
        == 1
    )
    assert (
        moved(before, after, "sam_proxy_upstream_retries_total", provider="anthropic", key="env")
        == 0
    )
    kinds = {
        "input_tokens": 100,
        "cache_read_tokens": 40,
        "cache_write_5m_tokens": 20,
        "output_tokens": 7,
    }
    for kind, count in kinds.items():
        assert moved(before, after, "sam_proxy_tokens_total", model=model, kind=kind) == count
    assert moved(before, after, "sam_proxy_cost_usd_total", model=model) > 0
    assert value(after, "sam_proxy_requests_in_flight") == value(
        before, "sam_proxy_requests_in_flight"
    )


def test_a_request_being_answered_is_in_flight_until_it_ends(proxy: LiveProxy, live_url: str):
    proxy.upstream.default = Reply(delay=1.0)
    before = value(scrape(live_url), "sam_proxy_requests_in_flight")

    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(proxy.post, "anthropic/v1/messages", CLAUDE_MESSAGE)
        while not proxy.upstream.received:
            time.sleep(0.02)
        during = value(scrape(live_url), "sam_proxy_requests_in_flight")
        assert answer.result().status_code == 200

    assert during == before + 1
    assert value(scrape(live_url), "sam_proxy_requests_in_flight") == before


def test_the_route_name_labels_match_the_request_log(proxy: LiveProxy, live_url: str):
    before = scrape(live_url)

    assert proxy.post("v1/chat/completions", CHAT).status_code == 200

    after = scrape(live_url)
    labels = {
        "route": "openai.chat_completions",
        "model": CHAT["model"],
        "status": "200",
        "source": "platform",
    }
    assert moved(before, after, "sam_proxy_requests_total", **labels) == 1


def test_a_refusal_counts_under_its_limit_and_its_status(proxy: LiveProxy, live_url: str, alice):
    UserProxyLimit.objects.create(user=alice, daily_input_tokens=0)
    before = scrape(live_url)

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 429

    after = scrape(live_url)
    assert moved(before, after, "sam_proxy_limit_refusals_total", limit="daily_input_tokens") == 1
    labels = {
        "route": "anthropic.messages",
        "model": CLAUDE_MESSAGE["model"],
        "status": "429",
        "source": "platform",
    }
    assert moved(before, after, "sam_proxy_requests_total", **labels) == 1
    assert (
        moved(before, after, "sam_proxy_upstream_attempts_total", provider="anthropic", key="env")
        == 0
    )


def test_a_retry_counts_the_failed_try_its_error_and_the_retry(proxy: LiveProxy, live_url: str):
    proxy.upstream.answer_next(Fail(503, "api_error", headers={"retry-after": "0"}))
    before = scrape(live_url)

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200

    after = scrape(live_url)
    assert [received.key for received in proxy.upstream.received] == [ENV_ANTHROPIC_KEY] * 2
    tries = {"provider": "anthropic", "key": "env"}
    assert moved(before, after, "sam_proxy_upstream_attempts_total", **tries) == 2
    assert moved(before, after, "sam_proxy_upstream_retries_total", **tries) == 1
    assert moved(before, after, "sam_proxy_upstream_errors_total", **tries, error="503") == 1


def test_agent_key_answers_count_by_source(live_url: str, ws: LiveWorkspace):
    before = scrape(live_url)

    answer = httpx.post(
        f"{live_url}/api/workspaces/{ws.id}/agent-key",
        json={"agentType": "claude-code"},
        headers={"Authorization": f"Bearer {ws.token}"},
    )

    assert answer.status_code == 200
    assert answer.json()["credentialSource"] == "platform"
    after = scrape(live_url)
    assert moved(before, after, "sam_agent_key_answers_total", source="proxy") == 1


def test_with_a_metrics_token_the_page_asks_for_it(client, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"] == "metrics_token_required"
        assert METRICS_TOKEN not in answer.content.decode()
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200
    assert b"# TYPE sam_proxy_requests_total counter" in answer.content


def test_without_a_metrics_token_the_page_is_open(client, settings):
    settings.METRICS_TOKEN = ""

    answer = client.get("/metrics")

    assert answer.status_code == 200
    assert b"# TYPE sam_proxy_request_duration_seconds histogram" in answer.content


@pytest.fixture
def workspace_for_processes(transactional_db, model_catalog, alice) -> LiveWorkspace:
    return make_workspace(alice)


def test_two_server_processes_add_up_in_multiprocess_mode(
    workspace_for_processes: LiveWorkspace, fake_upstream
):
    fake_upstream.default = Reply(input_tokens=10, output_tokens=3)
    headers = {"Authorization": f"Bearer {workspace_for_processes.proxy_token()}"}
    with tempfile.TemporaryDirectory() as directory:
        env = {
            "PROMETHEUS_MULTIPROC_DIR": directory,
            "METRICS_TOKEN": METRICS_TOKEN,
            "AI_PROXY_ANTHROPIC_UPSTREAM": fake_upstream.url,
            "AI_PROXY_ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY,
            "AI_PROXY_RATE_LIMIT_RPM": "1000",
        }
        with server_processes(2, **env) as urls:

            def ask(number: int) -> int:
                return httpx.post(
                    f"{urls[number % 2]}/ai/anthropic/v1/messages",
                    json=CLAUDE_MESSAGE,
                    headers=headers,
                    timeout=30,
                ).status_code

            with ThreadPoolExecutor(max_workers=6) as pool:
                assert list(pool.map(ask, range(12))) == [200] * 12
            auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            pages = [scrape(url, **auth) for url in urls]

    labels = {
        "route": "anthropic.messages",
        "model": CLAUDE_MESSAGE["model"],
        "status": "200",
        "source": "platform",
    }
    for page in pages:  # either process shows the sum of both
        assert value(page, "sam_proxy_requests_total", **labels) == 12
        assert (
            value(page, "sam_proxy_tokens_total", model=labels["model"], kind="input_tokens") == 120
        )
        assert value(page, "sam_proxy_requests_in_flight") == 0


def test_an_empty_multiprocess_variable_means_one_process_in_memory(transactional_db):
    # As a .env copied from .env.example could set it: prometheus-client would take the mere
    # presence of the variable for multiprocess mode and write its files to the cwd.
    from tests.processes import ROOT, server_process

    before = set(ROOT.glob("*.db"))
    with server_process(PROMETHEUS_MULTIPROC_DIR="") as url:
        assert httpx.get(f"{url}/metrics", timeout=30).status_code == 200
        written = set(ROOT.glob("*.db")) - before

    assert written == set()
