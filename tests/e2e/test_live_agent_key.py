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
