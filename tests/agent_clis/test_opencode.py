"""OpenCode (`opencode run`), started by the client with zero keys, works through the proxy:
the inline OPENCODE_CONFIG_CONTENT provider, chat completions, streamed, on the platform key.

Besides its own turns (which carry its tools) OpenCode asks the same model for a session
title, so the scripted answers go to the requests that carry tools."""

import json

from tests.agent_clis.conftest import AgentVM, inference, with_tools
from tests.fakes.fixtures import ENV_OPENAI_KEY
from tests.fakes.upstream import FakeUpstream, Reply

AGENT = "opencode"
WRITE_FILE = {
    "id": "call_01",
    "name": "bash",
    "input": {
        "command": "echo written-by-opencode > made.txt && cat made.txt",
        "description": "Write made.txt",
    },
}


def test_opencode_answers_a_prompt_through_the_proxy(vm: AgentVM, proxy_upstream: FakeUpstream):
    proxy_upstream.answer_next(Reply(text="Pong from the platform model."), when=with_tools)

    run = vm.run(AGENT, "opencode", "run", "Say pong.")

    assert run.returncode == 0, run.output
    assert "Pong from the platform model." in run.stdout
    turn = next(r for r in proxy_upstream.received if with_tools(r.json()))
    assert turn.path == "/v1/chat/completions"
    assert turn.key == ENV_OPENAI_KEY
    body = turn.json()
    assert body["model"] == "gpt-4.1-mini"
    assert body["stream"] is True
    assert "Say pong." in json.dumps(body["messages"][-1])
    assert vm.outside.attempts == []


def test_opencode_runs_the_command_the_model_asks_for_then_answers(
    vm: AgentVM, proxy_upstream: FakeUpstream
):
    proxy_upstream.answer_next(
        Reply(text="", tool_use=(WRITE_FILE,)),
        Reply(text="Wrote made.txt for you."),
        when=with_tools,
    )

    run = vm.run(AGENT, "opencode", "run", "Write made.txt.")

    assert run.returncode == 0, run.output
    assert (vm.workdir / "made.txt").read_text() == "written-by-opencode\n"
    turns = [body for body in inference(proxy_upstream) if with_tools(body)]
    assert len(turns) == 2
    assert "bash" in [tool["function"]["name"] for tool in turns[0]["tools"]]
    call, result = turns[1]["messages"][-2:]
    assert call["role"] == "assistant"
    assert call["tool_calls"][0]["id"] == "call_01"
    assert result["role"] == "tool"
    assert result["tool_call_id"] == "call_01"
    assert "written-by-opencode" in json.dumps(result["content"])
    assert "Wrote made.txt for you." in run.stdout
    assert vm.outside.attempts == []
