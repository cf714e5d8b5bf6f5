"""Bodies built to break a parser get the API's JSON errors, never a 500 or an HTML page
(SPEC §15): through the test client and through the live server."""

import httpx
import pytest

from tests.support import LiveWorkspace, make_workspace, post_json

pytestmark = pytest.mark.django_db

ENDPOINTS = ["agent-key", "agent-credential-sync"]
DEEP = "[" * 16_000  # inside the 16 KiB cap; nested past what the JSON parser can recurse
# Over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), as well as the endpoints' own caps.
HUGE = '{"agentType": "claude-code", "pad": "' + "x" * (3 * 1024 * 1024) + '"}'


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_json_nested_too_deeply_is_a_400(client, ws, endpoint):
    response = post_json(client, ws.url(endpoint), DEEP, ws.token)

    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "message": "JSON parse error - the body is nested too deeply.",
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_over_the_servers_memory_limit_is_a_413(client, ws, endpoint):
    response = post_json(client, ws.url(endpoint), HUGE, ws.token)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "payload_too_large"


def live_post(live_url: str, ws: LiveWorkspace, endpoint: str, content: bytes) -> httpx.Response:
    return httpx.post(
        f"{live_url}/api/workspaces/{ws.id}/{endpoint}",
        content=content,
        headers={**ws.headers, "Content-Type": "application/json"},
        timeout=30,
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_live_server_answers_deep_json_with_a_400(live_url, alice, endpoint):
    response = live_post(live_url, make_workspace(alice), endpoint, DEEP.encode())

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_live_server_answers_a_huge_body_with_a_413(live_url, alice, endpoint):
    response = live_post(live_url, make_workspace(alice), endpoint, HUGE.encode())

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "payload_too_large"


def test_the_live_server_answers_a_huge_chunked_body_with_a_413(live_url, alice):
    ws = make_workspace(alice)

    def chunks():
        for _ in range(48):
            yield b"x" * 65536

    response = httpx.post(
        f"{live_url}/api/workspaces/{ws.id}/agent-key",
        content=chunks(),
        headers={**ws.headers, "Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
