"""SPEC 21 through the real stack: a pool of platform keys, failover and retries before the
first byte, key health every worker shares, the admin's page of it.

The fake provider is scripted per key (it sees which key arrived). Keys are weighted so
that the key under test is the one picked first (the odds are given where it matters).
"""

import logging
import time
from collections import Counter

import httpx
import pytest
from django.conf import settings as django_settings

from ai_proxy.failover import _next_key
from ai_proxy.key_health import Health, State, key_health_now, platform_key_health_id
from ai_proxy.models import UsageRecord
from ai_proxy.upstream import UpstreamKey
from audit.models import AuditAction, AuditEvent
from catalog.providers import PROVIDERS
from credentials.models import Scope
from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE, LiveProxy
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import (
    Fail,
    FakeUpstream,
    Hang,
    Overloaded,
    RateLimited,
    Reply,
    refused_url,
)
from tests.processes import server_processes
from tests.support import LiveWorkspace, add_credential, make_workspace

KEY_A = "sk-ant-api03-pool-key-a-000000000000000000000AAA1"
KEY_B = "sk-ant-api03-pool-key-b-000000000000000000000BBB2"
HEALTH_PAGE = "/admin/ai_proxy/platformkey/"


def pool(a_weight: int = 1, b_weight: int = 1):
    a = add_credential(Scope.PLATFORM, "claude-code", KEY_A, label="a", weight=a_weight)
    b = add_credential(Scope.PLATFORM, "claude-code", KEY_B, label="b", weight=b_weight)
    return a, b


def send(proxy: LiveProxy, count: int, body=CLAUDE_MESSAGE) -> list[httpx.Response]:
    return [proxy.post("anthropic/v1/messages", body) for _ in range(count)]


def keys_seen(upstream: FakeUpstream) -> Counter:
    return Counter(received.key for received in upstream.received)


def state_of(credential) -> Health:
    return key_health_now([platform_key_health_id(credential)])[0][0]


def test_a_529_storm_on_one_key_is_invisible_and_the_key_is_skipped_while_it_cools(
    proxy: LiveProxy,
):
    # a is picked first with odds 50/51 each time it is healthy; it never is again.
    a, _b = pool(a_weight=50)
    proxy.upstream.key_defaults[KEY_A] = Overloaded()

    answers = send(proxy, 20)

    assert [answer.status_code for answer in answers] == [200] * 20
    assert keys_seen(proxy.upstream) == {KEY_A: 1, KEY_B: 20}
    health = state_of(a)
    assert health.state is State.COOLING
    assert health.status == 529
    assert 25 < (health.until or 0) - time.time() <= 30  # no retry-after: 30 s
    assert set(UsageRecord.objects.values_list("upstream_key", flat=True)) == {"b"}


def test_a_cooling_key_waits_as_long_as_its_retry_after_says(proxy: LiveProxy):
    a, _b = pool(a_weight=50)
    proxy.upstream.key_defaults[KEY_A] = RateLimited(retry_after=90)

    assert [answer.status_code for answer in send(proxy, 3)] == [200] * 3

    assert 85 < (state_of(a).until or 0) - time.time() <= 90


def test_a_refused_key_is_broken_skipped_and_back_after_an_audited_reset(
    proxy: LiveProxy, client, admin_user
):
    a, _b = pool(a_weight=50)
    proxy.upstream.key_defaults[KEY_A] = Fail(
        401, "authentication_error", message="invalid x-api-key"
    )

    first, *later = send(proxy, 10)

    # A 401 is not retried (SPEC 21: no 4xx is); the key is out of service from then on.
    assert first.status_code == 401
    assert first.json()["error"]["type"] == "authentication_error"
    assert [answer.status_code for answer in later] == [200] * 9
    assert keys_seen(proxy.upstream) == {KEY_A: 1, KEY_B: 9}
    assert state_of(a).state is State.BROKEN

    client.force_login(admin_user)
    page = client.get(HEALTH_PAGE).content.decode()
    assert "broken since" in page
    assert "401 authentication_error at" in page
    assert KEY_A not in page
    assert KEY_B not in page

    response = client.post(HEALTH_PAGE, {"action": "reset_health", "_selected_action": [str(a.pk)]})
    assert response.status_code == 302
    assert state_of(a).state is State.HEALTHY
    event = AuditEvent.objects.get(action=AuditAction.HEALTH_RESET)
    assert (event.target_id, event.actor_user, event.superusers_only) == (
        str(a.pk),
        admin_user,
        True,
    )
    assert (event.before["state"], event.after["state"]) == ("broken", "healthy")

    proxy.upstream.key_defaults[KEY_A] = Reply()
    proxy.upstream.received.clear()
    assert [answer.status_code for answer in send(proxy, 5)] == [200] * 5
    # Back in service, at its weight: each request goes to it with odds 50/51.
    assert keys_seen(proxy.upstream)[KEY_A] >= 2


def test_every_key_refused_is_a_503_that_names_the_admin_and_sends_nothing_upstream(
    proxy: LiveProxy,
):
    pool()
    for key in (KEY_A, KEY_B):
        proxy.upstream.key_defaults[key] = Fail(403, "permission_error")
    send(proxy, 2)  # each key refused once, then broken (which key first is random)
    while len(proxy.upstream.received) < 2:
        send(proxy, 1)
    proxy.upstream.received.clear()

    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 503
    assert "refused every platform key" in answer.json()["error"]["message"]
    assert proxy.upstream.received == []


@pytest.mark.parametrize(
    ("behaviour", "status", "error_type"),
    [
        (RateLimited(retry_after=40), 429, "rate_limit_error"),
        (Overloaded(), 529, "overloaded_error"),
    ],
)
def test_with_every_key_cooling_the_client_is_told_the_soonest_comeback(
    proxy: LiveProxy, behaviour, status, error_type
):
    pool()
    proxy.upstream.key_defaults[KEY_A] = behaviour
    proxy.upstream.key_defaults[KEY_B] = (
        RateLimited(retry_after=25) if status == 429 else Overloaded()
    )

    first = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)
    proxy.upstream.received.clear()
    then = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    # The first request tried both keys; the last refusal passed on as the provider sent it.
    assert first.status_code == status
    assert then.status_code == status
    assert then.json()["error"]["type"] == error_type
    soonest = 25 if status == 429 else 30
    assert soonest - 2 <= int(then.headers["retry-after"]) <= soonest
    assert proxy.upstream.received == []  # nothing was sent: every key is cooling


def test_a_5xx_is_tried_again_on_the_other_key_and_the_record_names_the_key_that_answered(
    proxy: LiveProxy,
):
    a, _b = pool(a_weight=50)
    proxy.upstream.answer_next(Fail(500, "api_error"), key=KEY_A)

    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 200
    assert [received.key for received in proxy.upstream.received] == [KEY_A, KEY_B]
    assert UsageRecord.objects.get().upstream_key == "b"
    health, last = key_health_now([platform_key_health_id(a)])[0]
    assert health.state is State.HEALTHY  # a 500 says nothing against the key
    assert last.status == 500


def test_the_only_key_is_tried_again_after_the_retry_after_its_answer_names(
    proxy: LiveProxy,
):
    proxy.upstream.answer_next(Fail(503, "api_error", headers={"retry-after": "1"}))

    started = time.monotonic()
    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 200
    assert time.monotonic() - started >= 1.0
    assert [received.key for received in proxy.upstream.received] == [ENV_ANTHROPIC_KEY] * 2


def test_a_retry_after_beyond_the_retry_budget_is_passed_on_at_once(proxy: LiveProxy):
    proxy.upstream.answer_next(RateLimited(retry_after=60))

    started = time.monotonic()
    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "60"
    assert time.monotonic() - started < 5
    assert len(proxy.upstream.received) == 1


def test_tries_stop_at_the_configured_number(proxy: LiveProxy, settings, caplog):
    settings.AI_PROXY_UPSTREAM_ATTEMPTS = 2
    proxy.upstream.default = Fail(502, "api_error")

    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 502
    assert len(proxy.upstream.received) == 2


def test_a_400_is_not_tried_again(proxy: LiveProxy):
    pool()
    proxy.upstream.answer_next(Fail(400, "invalid_request_error", message="bad thing"))

    answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 400
    assert len(proxy.upstream.received) == 1


@pytest.mark.parametrize("failure", ["error event", "silence"])
def test_a_stream_that_fails_after_its_first_byte_is_not_tried_again(
    proxy: LiveProxy, settings, failure
):
    pool()
    settings.AI_PROXY_READ_TIMEOUT = 0.5
    proxy.upstream.answer_next(
        Reply(error_after=2) if failure == "error event" else Hang(after_chunks=3)
    )

    answer = proxy.post("anthropic/v1/messages", {**CLAUDE_MESSAGE, "stream": True})

    assert answer.status_code == 200
    assert b"event: error" in answer.content
    assert len(proxy.upstream.received) == 1


def test_a_refused_connection_is_tried_again_then_a_502(proxy: LiveProxy, settings, caplog):
    settings.AI_PROXY_ANTHROPIC_UPSTREAM = refused_url()
    settings.AI_PROXY_RETRY_BUDGET_SECONDS = 5

    with caplog.at_level(logging.WARNING):
        answer = proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE)

    assert answer.status_code == 502
    tries = [r for r in caplog.records if r.getMessage() == "ai_proxy.upstream_failed"]
    assert len(tries) == 3


def test_weights_spread_requests_within_statistical_bounds(proxy: LiveProxy, settings):
    settings.AI_PROXY_RATE_LIMIT_RPM = 1000
    pool(a_weight=3, b_weight=1)

    answers = send(proxy, 200)

    assert [answer.status_code for answer in answers] == [200] * 200
    # Binomial(200, 3/4): mean 150, standard deviation 6.1; five of them either side.
    assert 119 <= keys_seen(proxy.upstream)[KEY_A] <= 181


def test_the_choice_among_healthy_keys_follows_the_weights_exactly_enough():
    spec = PROVIDERS["anthropic"]
    keys = [
        UpstreamKey(spec, "x", label=label, health_id=label, weight=weight)
        for label, weight in (("a", 1), ("b", 2), ("c", 7))
    ]
    healthy = [Health()] * 3

    def pick(healths: list[Health]) -> str:
        chosen = _next_key(keys, healths, set(), time.time(), None)
        assert chosen is not None
        return chosen[0].label

    picks = Counter(pick(healthy) for _ in range(20_000))
    # Standard deviations: 42, 57, 65 picks.
    assert abs(picks["a"] - 2_000) < 250
    assert abs(picks["b"] - 4_000) < 300
    assert abs(picks["c"] - 14_000) < 350
    cooling = [Health(State.COOLING, until=time.time() + 60), Health(), Health(State.BROKEN)]
    assert {pick(cooling) for _ in range(50)} == {"b"}


def test_no_key_value_reaches_a_log_line_an_error_or_the_admin(
    proxy: LiveProxy, client, admin_user, caplog
):
    pool(a_weight=50)
    proxy.upstream.answer_next(Overloaded(), key=KEY_A)
    proxy.upstream.answer_next(Fail(401, "authentication_error"), key=KEY_B)
    proxy.upstream.key_defaults[KEY_B] = Fail(500, "api_error")

    with caplog.at_level(logging.DEBUG):
        bodies = [answer.text for answer in send(proxy, 4)]
        client.force_login(admin_user)
        pages = [
            client.get(HEALTH_PAGE).content.decode(),
            client.get("/admin/credentials/platformcredential/").content.decode(),
        ]

    for text in [caplog.text, *bodies, *pages]:
        for key in (KEY_A, KEY_B):
            assert key not in text
            assert key[-12:] not in text


def test_the_health_page_shows_each_key_state_and_todays_use(proxy: LiveProxy, client, admin_user):
    _a, _b = pool(a_weight=50)
    proxy.upstream.key_defaults[KEY_A] = RateLimited(retry_after=120)
    proxy.upstream.key_defaults[KEY_B] = Reply(input_tokens=100, output_tokens=10)

    send(proxy, 3)
    client.force_login(admin_user)
    page = client.get(HEALTH_PAGE).content.decode()

    assert "cooling down until" in page
    assert "429 rate_limit_error at" in page
    assert "healthy" in page
    # b served all three: 3 requests, 3 x 110 tokens.
    assert ">3<" in page
    assert ">330<" in page


def test_staff_who_are_not_superusers_cannot_see_the_health_page(client, staff_user):
    client.force_login(staff_user)
    assert client.get(HEALTH_PAGE).status_code == 403


@pytest.fixture
def workspace_for_processes(transactional_db, model_catalog, alice) -> LiveWorkspace:
    return make_workspace(alice)


@pytest.mark.postgres
def test_a_key_cooling_on_one_worker_is_skipped_by_another(workspace_for_processes, fake_upstream):
    _a, _b = pool(a_weight=50)
    fake_upstream.key_defaults[KEY_A] = Overloaded()
    env = {
        "AI_PROXY_ANTHROPIC_UPSTREAM": fake_upstream.url,
        "AI_PROXY_OPENAI_UPSTREAM": fake_upstream.openai_url,
        "REDIS_URL": django_settings.REDIS_URL,
    }
    headers = {"Authorization": f"Bearer {workspace_for_processes.proxy_token()}"}
    with server_processes(2, **env) as (first, second):
        url = "/ai/anthropic/v1/messages"
        on_first = [
            httpx.post(first + url, json=CLAUDE_MESSAGE, headers=headers, timeout=30)
            for _ in range(5)
        ]
        assert keys_seen(fake_upstream)[KEY_A] == 1
        on_second = [
            httpx.post(second + url, json=CLAUDE_MESSAGE, headers=headers, timeout=30)
            for _ in range(10)
        ]

    assert [answer.status_code for answer in on_first + on_second] == [200] * 15
    assert keys_seen(fake_upstream) == {KEY_A: 1, KEY_B: 15}
