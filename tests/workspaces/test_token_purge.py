"""Dead tokens are deleted a day after they expired or were revoked: by `purge_tokens`, and
hourly by every server process (SPEC §22.2)."""

import asyncio
import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from sam_project import background
from tests.support import make_workspace, post_json
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import token_mint

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens(alice):
    """One token in each state, by name."""
    workspace = make_workspace(alice).workspace
    now = timezone.now()
    rows = {}
    for name, expires, revoked in [
        ("live", now + timedelta(hours=1), None),
        ("expired_an_hour_ago", now - timedelta(hours=1), None),
        ("expired_two_days_ago", now - timedelta(days=2), None),
        ("revoked_an_hour_ago", now + timedelta(hours=1), now - timedelta(hours=1)),
        ("revoked_two_days_ago", now + timedelta(days=5), now - timedelta(days=2)),
    ]:
        token, _raw = token_mint(workspace=workspace, kind=TokenKind.PROXY)
        WorkspaceToken.objects.filter(pk=token.pk).update(expires_at=expires, revoked_at=revoked)
        rows[name] = token.pk
    return rows


def remaining(tokens):
    kept = set(WorkspaceToken.objects.values_list("pk", flat=True))
    return {name for name, pk in tokens.items() if pk in kept}


def remaining_from_another_thread(tokens):
    try:
        return remaining(tokens)
    finally:
        connections.close_all()  # that thread's; the test database is dropped at the end


def test_purge_tokens_deletes_tokens_dead_for_more_than_a_day_and_prints_the_count(tokens):
    out = StringIO()
    call_command("purge_tokens", stdout=out)

    assert json.loads(out.getvalue()) == {"tokens_purged": 2}
    assert remaining(tokens) == {"live", "expired_an_hour_ago", "revoked_an_hour_ago"}


def test_a_recently_dead_token_still_gets_its_own_refusal(client, alice):
    ws = make_workspace(alice)
    WorkspaceToken.objects.update(expires_at=timezone.now() - timedelta(hours=2))
    call_command("purge_tokens", stdout=StringIO())

    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)

    assert response.status_code == 401
    assert response.json()["message"] == "This token has expired."


def test_purging_twice_deletes_nothing_more(tokens):
    call_command("purge_tokens", stdout=StringIO())
    out = StringIO()
    call_command("purge_tokens", stdout=out)
    assert json.loads(out.getvalue()) == {"tokens_purged": 0}


@pytest.mark.django_db(transaction=True)
def test_the_server_purges_from_its_lifespan_start(tokens, monkeypatch):
    monkeypatch.setattr(background, "PURGE_FIRST_WITHIN_SECONDS", 0.0)
    from sam_project.asgi import application

    async def serve_until_purged():
        started, stopping = asyncio.Event(), asyncio.Event()
        sent = []

        async def receive():
            if not started.is_set():
                started.set()
                return {"type": "lifespan.startup"}
            await stopping.wait()
            return {"type": "lifespan.shutdown"}

        async def send(message):
            sent.append(message["type"])

        server = asyncio.create_task(application({"type": "lifespan"}, receive, send))
        deadline = time.monotonic() + 10
        while "expired_two_days_ago" in await asyncio.to_thread(
            remaining_from_another_thread, tokens
        ):
            assert time.monotonic() < deadline, "no purge after startup"
            await asyncio.sleep(0.05)
        stopping.set()
        await server
        return sent

    assert asyncio.run(serve_until_purged()) == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert remaining(tokens) == {"live", "expired_an_hour_ago", "revoked_an_hour_ago"}
