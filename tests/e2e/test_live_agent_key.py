import httpx

from tests.support import make_workspace


def test_the_live_server_hands_out_the_proxy_fallback(live_url, alice):
    ws = make_workspace(alice)
    response = httpx.post(
        f"{live_url}/api/workspaces/{ws.id}/agent-key",
        json={"agentType": "claude-code"},
        headers=ws.headers,
    )
    assert response.status_code == 200
    assert response.json()["inferenceConfig"]["provider"] == "anthropic-proxy"


def test_a_chunked_body_without_length_is_capped_on_the_bytes_read(live_url, alice):
    ws = make_workspace(alice)

    def body():
        yield b'{"agentType": "claude-code", "pad": "'
        for _ in range(20):
            yield b"x" * 1024
        yield b'"}'

    response = httpx.post(
        f"{live_url}/api/workspaces/{ws.id}/agent-key",
        content=body(),
        headers={**ws.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
