"""Budget alerts (SPEC 23): at AI_PROXY_ALERT_PERCENT and 100 % of a daily budget, one signed
JSON POST per user, day, budget and threshold, whichever worker sees it; retried with
backoff when the receiver fails; never in the way of a request; listed in the admin.

The receiver is a real aiohttp server on loopback; the servers are real uvicorn processes
(their background job sends the alerts)."""

import asyncio
import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
from aiohttp import web
from django.utils import timezone

from ai_proxy.alerts import alerts_record
from ai_proxy.models import BudgetAlert, DailyUsage
from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import Reply
from tests.processes import server_processes
from tests.support import LiveWorkspace, make_workspace

pytestmark = pytest.mark.django_db

SECRET = "webhook-secret-for-the-test-0123456789"


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A webhook receiver on loopback: records every POST, answers `statuses` in turn (then
    200), each after `delay` seconds."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    got: list[Delivery] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(Delivery(dict(request.headers), await request.read(), time.monotonic()))
        await asyncio.sleep(self.delay)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.got) >= count, f"{len(self.got)} deliveries, not {count}"


@pytest.fixture
def receiver():
    hook = Receiver()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner: web.AppRunner | None = None

    async def start() -> None:
        nonlocal runner
        app = web.Application()
        app.router.add_post("/hook", hook.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        hook.url = f"http://127.0.0.1:{port}/hook"
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop)
    assert started.wait(10)
    yield hook
    assert runner is not None
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def signed(delivery: Delivery) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(delivery.headers.get("X-SAM-Signature", ""), expected)


@pytest.fixture
def workspace_for_processes(transactional_db, model_catalog, alice) -> LiveWorkspace:
    return make_workspace(alice)


def server_env(fake_upstream, receiver: Receiver, **extra: str) -> dict[str, str]:
    return {
        "AI_PROXY_ANTHROPIC_UPSTREAM": fake_upstream.url,
        "AI_PROXY_ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY,
        "AI_PROXY_RATE_LIMIT_RPM": "1000",
        "AI_PROXY_MAX_PARALLEL_REQUESTS": "100",
        "AI_PROXY_DAILY_INPUT_TOKENS": "1000",
        "AI_PROXY_ALERT_WEBHOOK_URL": receiver.url,
        "AI_PROXY_ALERT_WEBHOOK_SECRET": SECRET,
        "AI_PROXY_ALERT_INTERVAL": "0.1",
        "AI_PROXY_ALERT_RETRY_SECONDS": "0.2",
        **extra,
    }


def ask(url: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{url}/ai/anthropic/v1/messages",
        json=CLAUDE_MESSAGE,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_two_workers_send_one_signed_alert_per_threshold_even_when_requests_cross_it_at_once(
    workspace_for_processes: LiveWorkspace, fake_upstream, receiver: Receiver, alice
):
    fake_upstream.default = Reply(input_tokens=100, output_tokens=1)
    token = workspace_for_processes.proxy_token()
    with server_processes(2, **server_env(fake_upstream, receiver)) as urls:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(lambda n: ask(urls[n % 2], token), range(24)))
        receiver.wait_for(2)
        time.sleep(1.5)  # several more rounds of both workers: nothing more is sent

    assert 200 in [answer.status_code for answer in answers]
    assert DailyUsage.objects.get(user=alice).input_tokens >= 1000
    assert len(receiver.got) == 2
    assert all(signed(delivery) for delivery in receiver.got)
    bodies = sorted(
        (json.loads(d.body) for d in receiver.got), key=lambda b: b["threshold_percent"]
    )
    assert [(body["budget"], body["threshold_percent"]) for body in bodies] == [
        ("daily_input_tokens", 80),
        ("daily_input_tokens", 100),
    ]
    assert bodies[0]["user"] == {"id": alice.pk, "username": alice.username}
    assert bodies[0]["limit"] == 1000
    assert bodies[0]["day"] == timezone.now().date().isoformat()
    assert {row.state for row in BudgetAlert.objects.all()} == {"delivered"}


def test_a_receiver_that_fails_gets_the_same_alert_again_with_backoff(
    workspace_for_processes: LiveWorkspace, fake_upstream, receiver: Receiver, alice
):
    receiver.statuses = [500, 500]
    fake_upstream.default = Reply(input_tokens=1000, output_tokens=1)
    env = server_env(fake_upstream, receiver, AI_PROXY_ALERT_PERCENT="100")
    with server_processes(1, **env) as (url,):
        assert ask(url, workspace_for_processes.proxy_token()).status_code == 200
        receiver.wait_for(3)
        time.sleep(0.5)

    assert len(receiver.got) == 3
    first, second, third = receiver.got
    assert first.body == second.body == third.body
    assert len({d.headers["X-SAM-Delivery"] for d in receiver.got}) == 1
    assert all(signed(delivery) for delivery in receiver.got)
    # The waits double: 0.2 s, then 0.4 s (each within one 0.1 s round of the job).
    assert second.at - first.at >= 0.2
    assert third.at - second.at >= 0.4
    alert = BudgetAlert.objects.get()
    assert (alert.attempts, alert.last_status, alert.state) == (3, 200, "delivered")
    assert (alert.budget, alert.threshold) == ("daily_input_tokens", 100)


def test_a_slow_receiver_never_slows_a_request(
    workspace_for_processes: LiveWorkspace, fake_upstream, receiver: Receiver
):
    receiver.delay = 5.0
    fake_upstream.default = Reply(input_tokens=850, output_tokens=1)
    token = workspace_for_processes.proxy_token()
    with server_processes(1, **server_env(fake_upstream, receiver)) as (url,):
        assert ask(url, token).status_code == 200  # 85 % of the day's 1 000 input tokens
        receiver.wait_for(1)  # the receiver holds the alert for 5 s from here
        timings, statuses = [], []
        for _ in range(3):
            started = time.monotonic()
            statuses.append(ask(url, token).status_code)
            timings.append(time.monotonic() - started)

    assert statuses == [200, 429, 429]  # one below the budget, then at it
    assert max(timings) < 1.0, timings


def test_thresholds_are_recorded_once_each_as_the_day_reaches_them(alice, settings):
    settings.AI_PROXY_ALERT_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 1000
    settings.AI_PROXY_DAILY_COST_CAP_USD = Decimal("2")
    day = DailyUsage.objects.create(user=alice, day=timezone.now().date(), input_tokens=799)

    alerts_record({alice.pk})
    assert not BudgetAlert.objects.exists()

    day.input_tokens, day.cost_usd = 800, Decimal("2.5")
    day.save()
    alerts_record({alice.pk})
    alerts_record({alice.pk})
    assert sorted(BudgetAlert.objects.values_list("budget", "threshold")) == [
        ("daily_cost_cap_usd", 80),
        ("daily_cost_cap_usd", 100),
        ("daily_input_tokens", 80),
    ]


def test_the_own_key_day_raises_no_alert(alice, settings):
    settings.AI_PROXY_DAILY_INPUT_TOKENS = 1000
    DailyUsage.objects.create(
        user=alice, day=timezone.now().date(), paid_by="user", input_tokens=5000
    )

    alerts_record({alice.pk})

    assert not BudgetAlert.objects.exists()


def test_staff_see_the_deliveries_read_only(client, staff_user, alice):
    BudgetAlert.objects.create(
        user=alice,
        day=timezone.now().date(),
        budget="daily_input_tokens",
        threshold=80,
        body="{}",
        attempts=2,
        last_status=500,
        next_attempt_at=timezone.now(),
    )
    client.force_login(staff_user)

    page = client.get("/admin/ai_proxy/budgetalert/")

    assert page.status_code == 200
    assert alice.username in page.content.decode()
    assert "pending" in page.content.decode()
    assert client.get("/admin/ai_proxy/budgetalert/add/").status_code == 403


def test_others_do_not_see_the_deliveries(client, alice):
    assert client.get("/admin/ai_proxy/budgetalert/").status_code == 302  # to the login
    client.force_login(alice)
    assert client.get("/admin/ai_proxy/budgetalert/").status_code == 302
