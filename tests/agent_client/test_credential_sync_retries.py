"""Posting Codex's refreshed auth.json: bounded retries with backoff on 5xx/408/429, 4xx final."""

import socket
import uuid

import pytest

from agent_client.errors import AuthRefused, ControlPlaneError, NoCredential, ResponseInvalid
from agent_client.origin import parse_url
from agent_client.redaction import Secret
from agent_client.sync import credential_sync_post
from tests.agent_client.answers import CALLBACK_TOKEN, CODEX_AUTH
from tests.agent_client.scripted_server import Answer

WORKSPACE = str(uuid.uuid4())
UPDATED = Answer(200, {"success": True, "updated": True})


def sync(url, sleeps, **overrides):
    return credential_sync_post(
        control_plane=parse_url(url, what="control plane"),
        workspace_id=WORKSPACE,
        token=Secret(CALLBACK_TOKEN),
        agent_type="openai-codex",
        credential=Secret(CODEX_AUTH),
        sleep=sleeps.append,
        **overrides,
    )


def test_it_posts_the_file_as_an_oauth_credential_of_codex(scripted):
    scripted.answer(UPDATED)

    result = sync(scripted.url, [])

    assert result.updated is True
    request = scripted.received[0]
    assert request.path == f"/api/workspaces/{WORKSPACE}/agent-credential-sync"
    assert request.headers["authorization"] == f"Bearer {CALLBACK_TOKEN}"
    assert request.json() == {
        "agentType": "openai-codex",
        "credentialKind": "oauth-token",
        "credential": CODEX_AUTH,
    }


def test_an_unchanged_credential_is_reported_as_not_updated(scripted):
    scripted.answer(Answer(200, {"success": True, "updated": False}))

    assert sync(scripted.url, []).updated is False


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_transient_statuses_are_retried_with_exponential_backoff(scripted, status):
    scripted.answer(Answer(status), Answer(status), UPDATED)
    sleeps: list[float] = []

    result = sync(scripted.url, sleeps)

    assert result.attempts == 3
    assert sleeps == [0.5, 1.0]
    assert len(scripted.received) == 3


def test_retry_after_is_honoured(scripted):
    scripted.answer(Answer(429, headers={"Retry-After": "3"}), UPDATED)
    sleeps: list[float] = []

    sync(scripted.url, sleeps)

    assert sleeps == [3.0]


def test_a_long_retry_after_is_capped_at_30_seconds(scripted):
    scripted.answer(Answer(503, headers={"Retry-After": "3600"}), UPDATED)
    sleeps: list[float] = []

    sync(scripted.url, sleeps)

    assert sleeps == [30.0]


def test_retries_are_bounded(scripted):
    scripted.answer(*[Answer(503, {"error": "unavailable", "message": "down"})] * 10)
    sleeps: list[float] = []

    with pytest.raises(
        ControlPlaneError, match=r"after 4 attempts .*HTTP 503 unavailable"
    ) as failed:
        sync(scripted.url, sleeps)

    assert failed.value.exit_code == 5
    assert len(scripted.received) == 4
    assert sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [400, 404, 409, 413])
def test_other_client_errors_are_final(scripted, status):
    scripted.answer(Answer(status, {"error": "bad_request", "message": "no"}), UPDATED)
    sleeps: list[float] = []

    with pytest.raises(ControlPlaneError, match=f"HTTP {status}"):
        sync(scripted.url, sleeps)

    assert len(scripted.received) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_final_and_exits_4(scripted, status):
    scripted.answer(Answer(status), UPDATED)

    with pytest.raises(AuthRefused) as refused:
        sync(scripted.url, [])

    assert refused.value.exit_code == 4
    assert len(scripted.received) == 1


def test_no_credential_to_update_exits_3(scripted):
    scripted.answer(Answer(200, {"success": False, "reason": "credential_not_found"}))

    with pytest.raises(NoCredential, match="credential_not_found") as missing:
        sync(scripted.url, [])

    assert missing.value.exit_code == 3


@pytest.mark.parametrize("body", [b"nope", {"success": "yes"}, {"success": True}, []])
def test_a_malformed_answer_is_an_error(scripted, body):
    scripted.answer(Answer(200, body))

    with pytest.raises(ResponseInvalid) as failed:
        sync(scripted.url, [])

    assert failed.value.exit_code == 5


def test_an_unreachable_control_plane_is_retried_then_given_up_on():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []

    with pytest.raises(ControlPlaneError, match="cannot reach"):
        sync(f"http://127.0.0.1:{port}", sleeps, attempts=3)

    assert sleeps == [0.5, 1.0]
