"""The deployment of deploy/ under load (SPEC §23, §25): nginx with the shipped site in front
of two app instances on PostgreSQL and Redis, the fake provider behind them. Several users
call agent-key and the AI proxy (JSON and streamed, Anthropic Messages and chat
completions) for a few seconds; one instance is killed with SIGKILL half-way.

Checked afterwards: no call hung; every answer a client received as a success has exactly
one usage record and nothing else has one; each user's daily totals equal the sum of their
records; a user's rate limit is counted once across both instances; the surviving instance
serves everything sent after the kill.

The harness touches only the public surface: HTTP through nginx, `manage.py
create_workspace`, the admin's per-user limit form, and the settings in the environment.
The outcome is read from the usage records and daily totals (SPEC §10).
"""

import io
import json
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F, Sum
from django.test import Client

from ai_proxy.models import DailyUsage, UsageRecord
from tests.deploy.load import (
    CALL_TIMEOUT,
    HANG,
    KINDS,
    SUCCESS,
    TIMEOUT,
    Load,
    Outcome,
    User,
    call,
    run_burst,
    run_client,
)
from tests.deploy.nginx import Nginx
from tests.deploy.unit import unit_server_flags
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY
from tests.processes import ROOT, ServerProcess, database_url

pytestmark = pytest.mark.postgres

LOAD_SECONDS = 6.0
KILL_AFTER = 3.0
LOAD_USERS = 4
CLIENTS_PER_USER = 2  # under the proxy's cap on parallel requests per user
LIMITED_RPM = 10
LIMITED_REQUESTS = 3 * LIMITED_RPM
FAKE_PROVIDER_OPTIONS = ["--delay", "0.05", "--chunks", "8", "--chunk-delay", "0.02"]
SETTLE_AFTER_KILL = 1.0  # requests sent this long after the kill must all succeed


@pytest.fixture
def fake_provider(tmp_path: Path) -> Iterator[str]:
    """The fake provider in a process of its own: a short wait before each answer, and
    streams of several chunks, so requests are in flight when the instance dies."""
    with (tmp_path / "fake.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.upstream", *FAKE_PROVIDER_OPTIONS],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    assert process.stdout is not None
    url = process.stdout.readline().decode().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), (tmp_path / "fake.log").read_text()
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Deployment:
    nginx: Nginx
    instances: list[ServerProcess]


@pytest.fixture
def deployment(transactional_db, model_catalog, fake_provider, tmp_path) -> Iterator[Deployment]:
    env = {
        "DATABASE_URL": database_url(),
        # The load's clients send their callback token to the proxy too (one token per user);
        # the token modes have their own tests.
        "AI_PROXY_TOKEN_MODE": "callback",
        "AI_PROXY_ANTHROPIC_UPSTREAM": fake_provider,
        "AI_PROXY_OPENAI_UPSTREAM": f"{fake_provider}/v1",
        "AI_PROXY_ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY,
        "AI_PROXY_OPENAI_API_KEY": ENV_OPENAI_KEY,
        "AI_PROXY_RATE_LIMIT_RPM": "100000",
        "AI_PROXY_MAX_PARALLEL_REQUESTS": "64",
        "AI_PROXY_DAILY_INPUT_TOKENS": "1000000000",
        "AI_PROXY_DAILY_OUTPUT_TOKENS": "1000000000",
        "LOG_LEVEL": "WARNING",
    }
    # The unit's server command, one worker per instance: an instance is one process to kill.
    instances = [
        ServerProcess(env, tmp_path / f"instance-{n}.log", *unit_server_flags()).launch()
        for n in (1, 2)
    ]
    nginx = None
    try:
        for instance in instances:
            instance.wait_until_up()
        nginx = Nginx(tmp_path / "nginx", [f"127.0.0.1:{i.port}" for i in instances]).start()
        yield Deployment(nginx=nginx, instances=instances)
    finally:
        if nginx is not None:
            nginx.stop()
        for instance in instances:
            instance.stop()  # SIGTERM: what it still has to write lands before the checks


def _create_user(name: str) -> User:
    out = io.StringIO()
    call_command("create_workspace", user=name, create_user=True, stdout=out)
    created = json.loads(out.getvalue())
    return User(name=name, workspace_id=created["workspace_id"], token=created["callback_token"])


def _limit_rate(admin_user: Any, user: User, rpm: int) -> None:
    """The per-user limit, set the way an admin does: the admin's form."""
    admin = Client()
    admin.force_login(admin_user)
    user_id = get_user_model().objects.get(username=user.name).pk
    response = admin.post(
        "/admin/ai_proxy/userproxylimit/add/", {"user": user_id, "rate_limit_rpm": rpm}
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_two_instances_behind_nginx_lose_nothing_when_one_is_killed_under_load(
    deployment, admin_user
):
    users = [_create_user(f"load{n}") for n in range(1, LOAD_USERS + 1)]
    limited = _create_user("limited")
    _limit_rate(admin_user, limited, LIMITED_RPM)
    load = Load(base_url=deployment.nginx.url)
    assert httpx.get(f"{load.base_url}/health/ready", timeout=TIMEOUT).status_code == 200

    started = time.monotonic()
    until = started + LOAD_SECONDS
    threads = [
        threading.Thread(
            target=run_client,
            args=(load, user, _rotated(KINDS, n * CLIENTS_PER_USER + c), until),
            daemon=True,
        )
        for n, user in enumerate(users)
        for c in range(CLIENTS_PER_USER)
    ]
    bursts = [
        threading.Thread(target=run_burst, args=(load, limited, LIMITED_REQUESTS // 2), daemon=True)
        for _ in range(2)
    ]
    threads += bursts
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER)
    # The limited user's requests all meet live instances: its count is the limiter's alone.
    for burst in bursts:
        burst.join(timeout=CALL_TIMEOUT * LIMITED_REQUESTS)
    killed_at = _kill_at_its_next_final_event(load, deployment.instances[1])
    # Each call has a timeout: every client ends within it once the load stops.
    join_by = until + CALL_TIMEOUT + 5
    for thread in threads:
        thread.join(timeout=max(0.0, join_by - time.monotonic()))
    stuck_clients = sum(thread.is_alive() for thread in threads)

    with httpx.Client(base_url=load.base_url, timeout=TIMEOUT) as client:
        afterwards = [call(load, client, users[0], kind) for kind in KINDS * 2]
        ready_afterwards = client.get("/health/ready").status_code
    deployment.nginx.stop()
    survivor = deployment.instances[0]
    survivor.stop()

    outcomes = list(load.outcomes)
    report = _report(outcomes, killed_at, started)
    print("\n".join(f"{name}: {value}" for name, value in report.items()))

    lost, extra, duplicated = _match_usage(outcomes)
    wrong_tokens = UsageRecord.objects.exclude(output_tokens=F("input_tokens") + 1).count()
    observed = {
        "clients still running after their timeout": stuck_clients,
        "calls that hung": sum(o.result == HANG for o in outcomes),
        "successes without a usage record": lost,
        "successes with more than one usage record": duplicated,
        "usage records for no success": extra,
        "usage records whose tokens are not the answer's": wrong_tokens,
        "users whose daily totals differ from their records": _daily_totals_off(),
        "the limited user's rate windows counted wrong": _rate_windows_off(outcomes, limited),
        "instances that served the limited user": len(
            {o.served_by for o in outcomes if o.user == limited.name and o.result == SUCCESS}
        ),
        "calls sent after the kill that failed": [
            _describe(o)
            for o in outcomes
            if o.started >= killed_at + SETTLE_AFTER_KILL and o.result != SUCCESS
        ],
        "calls after the load that failed": [
            _describe(o) for o in afterwards if o.result != SUCCESS
        ],
        "survivor ready after the load": ready_afterwards == 200,
    }
    assert observed == {
        "clients still running after their timeout": 0,
        "calls that hung": 0,
        "successes without a usage record": [],
        "successes with more than one usage record": [],
        "usage records for no success": [],
        "usage records whose tokens are not the answer's": 0,
        "users whose daily totals differ from their records": {},
        "the limited user's rate windows counted wrong": {},
        "instances that served the limited user": 2,
        "calls sent after the kill that failed": [],
        "calls after the load that failed": [],
        "survivor ready after the load": True,
    }
    # The load was real: both instances served every kind of call before the kill.
    before_kill = {(o.served_by, o.kind) for o in outcomes if o.result == SUCCESS}
    instances = {f"127.0.0.1:{instance.port}" for instance in deployment.instances}
    assert {(i, kind) for i in instances for kind in KINDS} <= before_kill
    assert report["proxy successes"] >= 50


def _kill_at_its_next_final_event(load: Load, instance: ServerProcess) -> float:
    """SIGKILL `instance` the moment a client has the final event of a stream it served:
    the worst moment for an answer whose usage is not written yet (SPEC 20.3: the record is
    committed before the final event is relayed). Returns when it was killed."""
    killed = threading.Event()
    killed_at: list[float] = []
    address = f"127.0.0.1:{instance.port}"
    lock = threading.Lock()

    def kill(outcome: Outcome | None) -> None:
        if outcome is not None and outcome.served_by != address:
            return
        with lock:
            if not killed.is_set():
                instance.kill()
                killed_at.append(time.monotonic())
                killed.set()

    load.on_final_event = kill
    if not killed.wait(timeout=2.0):
        kill(None)  # it finished no stream in time: kill it anyway
    return killed_at[0]


def _rotated(kinds: tuple[str, ...], by: int) -> list[str]:
    shift = by % len(kinds)
    return list(kinds[shift:] + kinds[:shift])


def _describe(outcome: Outcome) -> str:
    return f"{outcome.kind} {outcome.result} {outcome.status or outcome.error}"


def _report(outcomes: list[Outcome], killed_at: float, started: float) -> dict[str, Any]:
    proxy = [o for o in outcomes if o.marker is not None]
    return {
        "calls": len(outcomes),
        "by kind and result": dict(Counter((o.kind, o.result) for o in outcomes)),
        "statuses": dict(Counter(o.status for o in outcomes)),
        "errors": dict(Counter(o.error for o in outcomes if o.error)),
        "proxy successes": sum(o.result == SUCCESS for o in proxy),
        "successes after the kill": sum(
            o.result == SUCCESS for o in outcomes if o.started >= killed_at
        ),
        "served by": dict(Counter(o.served_by for o in outcomes)),
        "killed after seconds": round(killed_at - started, 2),
        "usage records": UsageRecord.objects.count(),
    }


def _match_usage(outcomes: list[Outcome]) -> tuple[list[str], list[str], list[str]]:
    """Each proxy request's marker against the records (user, input tokens)."""
    records = Counter(UsageRecord.objects.values_list("user__username", "input_tokens"))
    proxy = {(o.user, o.marker): o for o in outcomes if o.marker is not None}
    successes = {key for key, o in proxy.items() if o.result == SUCCESS}
    lost = sorted(f"{_describe(proxy[key])} #{key[1]}" for key in successes if not records[key])
    duplicated = sorted(
        f"{_describe(proxy[key])} #{key[1]} x{records[key]}"
        for key in successes
        if records[key] > 1
    )
    extra = sorted(
        f"{_describe(proxy[key])} #{key[1]}" if key in proxy else f"unknown {key}"
        for key in records
        if key not in successes
    )
    return lost, extra, duplicated


def _daily_totals_off() -> dict[str, Any]:
    sums = {"requests": Count("id"), "input": Sum("input_tokens"), "output": Sum("output_tokens")}
    sums["cost"] = Sum("cost_usd")
    by_records = {
        row.pop("user__username"): row
        for row in UsageRecord.objects.values("user__username").annotate(**sums).order_by()
    }
    daily: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "input": 0, "output": 0, "cost": Decimal(0)}
    )
    for day in DailyUsage.objects.select_related("user"):
        totals = daily[day.user.get_username()]
        totals["requests"] += day.requests
        totals["input"] += day.input_tokens
        totals["output"] += day.output_tokens
        totals["cost"] += day.cost_usd
    return {
        user: {"records": by_records.get(user), "daily": daily.get(user)}
        for user in set(by_records) | set(daily)
        if by_records.get(user) != daily.get(user)
    }


def _rate_windows_off(outcomes: list[Outcome], limited: User) -> dict[int, Any]:
    """Per minute window: never more successes than the limit, and exactly the limit once
    a request was refused for it (every request of this user reached an instance alive)."""
    mine = [o for o in outcomes if o.user == limited.name]
    wrong: dict[int, Any] = {}
    for window in {o.window for o in mine}:
        if window is None:
            continue
        inside = [o for o in mine if o.window == window]
        served = sum(o.result == SUCCESS for o in inside)
        refused = sum(o.status == 429 for o in inside)
        if served > LIMITED_RPM or (refused and served != LIMITED_RPM):
            wrong[window] = {"served": served, "refused": refused, "limit": LIMITED_RPM}
    unplaced = [_describe(o) for o in mine if o.window is None]
    if unplaced:
        wrong[0] = {"answers without a rate window": unplaced}
    return wrong
