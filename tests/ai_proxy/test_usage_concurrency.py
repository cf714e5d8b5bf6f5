"""Usage adds up exactly when several server processes answer at once (SPEC §10, §17):
the day's totals equal the sum of the usage records, with no increment lost."""

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.db import connection
from django.db.models import Sum

from ai_proxy.models import DailyUsage, UsageRecord
from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import Reply
from tests.support import make_workspace

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3
REQUESTS = 60


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server_processes(transactional_db, model_catalog, fake_upstream):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "AI_PROXY_ANTHROPIC_UPSTREAM": fake_upstream.url,
        "AI_PROXY_ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY,
        "AI_PROXY_RATE_LIMIT_RPM": "100000",
        # Every request of the test is in flight at once: the cap on them is not what it tests.
        "AI_PROXY_MAX_PARALLEL_REQUESTS": "1000",
    }
    ports = [free_port() for _ in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "sam_project.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "on",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]

    def stop() -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # graceful: pending usage writes land
        for process in processes:
            process.wait(timeout=30)

    try:
        for url in urls:
            _wait_until_up(url)
        yield urls, stop
    finally:
        stop()


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def test_parallel_requests_on_several_processes_lose_no_usage(
    server_processes, alice, fake_upstream
):
    urls, stop_servers = server_processes
    token = make_workspace(alice).proxy_token()
    fake_upstream.default = Reply(input_tokens=100, output_tokens=7)

    def ask(number: int) -> int:
        url = urls[number % PROCESSES]
        response = httpx.post(
            f"{url}/ai/anthropic/v1/messages",
            json=CLAUDE_MESSAGE,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(ask, range(REQUESTS)))
    assert statuses == [200] * REQUESTS
    stop_servers()

    day = DailyUsage.objects.get(user=alice)
    totals = UsageRecord.objects.aggregate(
        input=Sum("input_tokens"), output=Sum("output_tokens"), cost=Sum("cost_usd")
    )
    assert UsageRecord.objects.count() == day.requests == REQUESTS
    assert day.input_tokens == totals["input"] == REQUESTS * 100
    assert day.output_tokens == totals["output"] == REQUESTS * 7
    # SQLite sums decimals as floating point: compare at the stored precision.
    assert day.cost_usd == Decimal(totals["cost"]).quantize(Decimal("0.000001"))
    assert day.cost_usd == REQUESTS * Decimal("0.000135")
