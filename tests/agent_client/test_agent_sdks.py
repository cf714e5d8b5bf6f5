"""Agents started by the client reach inference with the official SDKs, using only what it gave them.

The scripts in agents/ read their configuration the way the real agents do (Claude Code: the
ANTHROPIC_* variables; Codex: config.toml's provider and the variable its env_key names;
OpenCode: OPENCODE_CONFIG_CONTENT) and call the official `anthropic` / `openai` SDKs.

First against a stand-in that plays both the control plane and the proxy on one origin, so the
client's environment is proven with real SDKs on its own; then through the platform AI proxy of
the live server to a fake upstream.
"""

import hashlib
import json
import uuid

import pytest

from tests.agent_client.answers import CALLBACK_TOKEN, PROXY_ROUTES, PROXY_TOKEN, proxy_answer
from tests.agent_client.fake_inference import reply_text
from tests.agent_client.vm_client import VMClient, agent_command
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PLATFORM_KEY,
    OPENAI_KEY,
    OPENAI_PLATFORM_KEY,
    add_credential,
)

AGENTS = {
    # agent: (script, dialect its SDK speaks, path the proxy serves it on)
    "claude-code": ("claude_code.py", "Messages", "/ai/anthropic/v1/messages"),
    "openai-codex": ("codex.py", "Responses", "/ai/v1/responses"),
    "opencode": ("opencode.py", "Chat Completions", "/ai/v1/chat/completions"),
}
UPSTREAM_PATHS = {
    "claude-code": "/v1/messages",
    "openai-codex": "/v1/responses",
    "opencode": "/v1/chat/completions",
}


def stand_in_client(fake, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return VMClient(
        control_plane=fake.url, workspace_id=str(uuid.uuid4()), token=CALLBACK_TOKEN, home=home
    )


@pytest.mark.parametrize("agent", sorted(AGENTS))
@pytest.mark.parametrize("mode", ["callback", "scoped"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_each_agent_gets_its_answer_with_nothing_but_the_clients_setup(
    fake_inference, tmp_path, agent, mode, stream
):
    script, dialect, path = AGENTS[agent]
    fake_inference.agent_key_answer = proxy_answer(agent, fake_inference.url, mode)
    fake_inference.proxy_token = PROXY_TOKEN
    client = stand_in_client(fake_inference, tmp_path)

    run = client(
        "run", "--agent", agent, "--", *agent_command(script, *(["--stream"] if stream else []))
    )

    assert run.returncode == 0, run.stderr
    model = PROXY_ROUTES[agent][2]
    assert run.json() == {"text": reply_text(dialect, model), "model": model}
    (request,) = fake_inference.inference_requests()
    assert request.path == path
    assert request.body["model"] == model
    assert request.body.get("stream", False) is stream
    expected_key = PROXY_TOKEN if mode == "scoped" else CALLBACK_TOKEN
    assert request.headers["authorization"] == f"Bearer {expected_key}"
    assert "x-api-key" not in request.headers


@pytest.fixture
def through_the_proxy(vm, fake_inference, settings):
    """The live server's proxy forwarding to the fake upstream with platform keys from env."""
    settings.AI_PROXY_ANTHROPIC_UPSTREAM = fake_inference.url
    settings.AI_PROXY_OPENAI_UPSTREAM = fake_inference.url + "/v1"
    settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM = fake_inference.url + "/v1"
    settings.AI_PROXY_ANTHROPIC_API_KEY = CLAUDE_PLATFORM_KEY
    settings.AI_PROXY_OPENAI_API_KEY = OPENAI_PLATFORM_KEY
    settings.AI_PROXY_OPENAI_COMPATIBLE_API_KEY = OPENAI_PLATFORM_KEY
    return vm


@pytest.mark.parametrize("agent", sorted(AGENTS))
@pytest.mark.parametrize("mode", ["callback", "scoped"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_with_zero_keys_each_agent_is_answered_through_the_platform_proxy(
    through_the_proxy, fake_inference, ws, settings, agent, mode, stream
):
    settings.AI_PROXY_TOKEN_MODE = mode
    script, dialect, _path = AGENTS[agent]

    run = through_the_proxy(
        "run", "--agent", agent, "--", *agent_command(script, *(["--stream"] if stream else []))
    )

    assert run.returncode == 0, run.stderr
    model = PROXY_ROUTES[agent][2]
    assert run.json()["text"] == reply_text(dialect, model)
    (request,) = fake_inference.inference_requests()
    assert request.path == UPSTREAM_PATHS[agent]
    platform_key = CLAUDE_PLATFORM_KEY if agent == "claude-code" else OPENAI_PLATFORM_KEY
    if agent == "claude-code":
        assert request.headers["x-api-key"] == platform_key
    else:
        assert request.headers["authorization"] == f"Bearer {platform_key}"
    assert ws.token not in json.dumps(request.headers)
    assert "sam_px_" not in json.dumps(request.headers)


OWN_KEYS = {
    "claude-code": CLAUDE_KEY,
    "openai-codex": OPENAI_KEY,
    "opencode": "sk-proj-alice-opencode-key-0000000000000",
}


@pytest.mark.parametrize("agent", sorted(AGENTS))
@pytest.mark.parametrize("mode", ["callback", "scoped"])
def test_with_proxy_delivery_the_users_own_key_answers_and_never_reaches_the_vm(
    through_the_proxy, fake_inference, alice, settings, agent, mode
):
    settings.CREDENTIAL_DELIVERY = "proxy"
    settings.AI_PROXY_TOKEN_MODE = mode
    add_credential("user", agent, OWN_KEYS[agent], owner=alice)
    script, dialect, _path = AGENTS[agent]

    run = through_the_proxy("run", "--agent", agent, "--", *agent_command(script))
    shown = through_the_proxy("run", "--agent", agent, "--", *agent_command("show_environment.py"))

    assert run.returncode == 0, run.stderr
    assert run.json()["text"] == reply_text(dialect, PROXY_ROUTES[agent][2])
    (request,) = fake_inference.inference_requests()
    sent = request.headers.get("x-api-key") or request.headers["authorization"]
    assert sent in (OWN_KEYS[agent], f"Bearer {OWN_KEYS[agent]}")
    # What the VM saw: its environment, every file the client wrote, all it printed.
    key = OWN_KEYS[agent]
    assert hashlib.sha256(key.encode()).hexdigest() not in shown.stdout
    for run_output in through_the_proxy.runs:
        assert key not in run_output.stdout + run_output.stderr
    for path, content in through_the_proxy.written_files().items():
        assert key.encode() not in content, path
