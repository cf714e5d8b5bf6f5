"""The promise: a user with zero keys starts an agent and it works. A new workspace asks
agent-key for a credential, gets the proxy fallback, and an SDK client built from nothing
but that answer (base URL, key, model) gets its reply through the platform's key."""

import json

import anthropic
import httpx
import openai
import pytest
from django.core.management import call_command

from catalog.agents import PLATFORM_PROXY_SENTINEL
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def new_workspace(live_url, proxy_upstream, settings, capsys):
    """A workspace created as an operator would, for a user with no keys at all."""
    settings.AI_PROXY_PUBLIC_URL = live_url
    call_command("create_workspace", "--user", "newcomer", "--create-user")
    return json.loads(capsys.readouterr().out)


def agent_key(live_url, workspace, agent_type):
    response = httpx.post(
        f"{live_url}/api/workspaces/{workspace['workspace_id']}/agent-key",
        json={"agentType": agent_type},
        headers={"Authorization": f"Bearer {workspace['callback_token']}"},
    )
    assert response.status_code == 200
    return response.json()


def key_from(answer, workspace):
    """What the VM agent does: the sentinel means "use your own callback token"."""
    if answer["apiKey"] == PLATFORM_PROXY_SENTINEL:
        assert answer["inferenceConfig"]["apiKeySource"] == "callback-token"
        return workspace["callback_token"]
    assert answer["inferenceConfig"]["apiKeySource"] == "proxy-token"
    return answer["apiKey"]


@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_claude_code_with_zero_keys_gets_an_answer(
    live_url, new_workspace, settings, mode, proxy_upstream: FakeUpstream
):
    settings.AI_PROXY_TOKEN_MODE = mode
    answer = agent_key(live_url, new_workspace, "claude-code")
    config = answer["inferenceConfig"]
    assert config["provider"] == "anthropic-proxy"

    client = anthropic.Anthropic(
        base_url=config["baseURL"], auth_token=key_from(answer, new_workspace), max_retries=0
    )
    with client.messages.stream(
        model=config["model"],
        max_tokens=100,
        messages=[{"role": "user", "content": "write hello world"}],
    ) as stream:
        text = stream.get_final_text()

    assert text == "Echo: write hello world"
    assert proxy_upstream.last.json()["model"] == "claude-sonnet-4-6"
    assert proxy_upstream.last.headers["x-api-key"] == ENV_ANTHROPIC_KEY


@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_codex_with_zero_keys_gets_an_answer(
    live_url, new_workspace, settings, mode, proxy_upstream: FakeUpstream
):
    settings.AI_PROXY_TOKEN_MODE = mode
    answer = agent_key(live_url, new_workspace, "openai-codex")
    config = answer["inferenceConfig"]
    assert config["provider"] == "openai-proxy"

    client = openai.OpenAI(
        base_url=config["baseURL"], api_key=key_from(answer, new_workspace), max_retries=0
    )
    with client.responses.stream(model=config["model"], input="fix the bug") as stream:
        response = stream.get_final_response()

    assert response.output_text == "Echo: fix the bug"
    assert proxy_upstream.last.json()["model"] == "gpt-4.1"
    assert proxy_upstream.last.headers["authorization"] == f"Bearer {ENV_OPENAI_KEY}"


def test_opencode_with_zero_keys_gets_an_answer(live_url, new_workspace, proxy_upstream):
    answer = agent_key(live_url, new_workspace, "opencode")
    config = answer["inferenceConfig"]
    assert config["provider"] == "openai-compatible"

    client = openai.OpenAI(
        base_url=config["baseURL"], api_key=key_from(answer, new_workspace), max_retries=0
    )
    completion = client.chat.completions.create(
        model=config["model"], messages=[{"role": "user", "content": "refactor this"}]
    )

    assert completion.choices[0].message.content == "Echo: refactor this"
    assert proxy_upstream.last.json()["model"] == "gpt-4.1-mini"
