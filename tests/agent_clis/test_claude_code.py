"""Claude Code (`claude -p`), started by the client with zero keys, works through the proxy:
Anthropic Messages with `?beta=true` and `anthropic-beta`, streamed, on the platform key."""

from tests.agent_clis.conftest import AgentVM, inference, with_tools
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY
from tests.fakes.upstream import FakeUpstream, Reply

AGENT = "claude-code"
WRITE_FILE = {
    "id": "toolu_01",
    "name": "Bash",
    "input": {
        "command": "echo written-by-claude > made.txt && cat made.txt",
        "description": "Write made.txt",
    },
}


def test_claude_code_answers_a_prompt_through_the_proxy(vm: AgentVM, proxy_upstream: FakeUpstream):
    proxy_upstream.answer_next(Reply(text="Pong from the platform model."), when=with_tools)

    run = vm.run(AGENT, "claude", "-p", "Say pong.")

    assert run.returncode == 0, run.output
    assert "Pong from the platform model." in run.stdout
    turn = next(r for r in proxy_upstream.received if r.path == "/v1/messages")
    assert turn.query == "beta=true"
    assert turn.key == ENV_ANTHROPIC_KEY
    assert "claude-code-" in turn.headers["anthropic-beta"]
    body = turn.json()
    assert body["model"] == "claude-sonnet-4-6"
    assert body["stream"] is True
    assert "Say pong." in str(body["messages"][-1])
    assert vm.outside.attempts == []


def test_claude_code_runs_the_tool_the_model_asks_for_then_answers(
    vm: AgentVM, proxy_upstream: FakeUpstream
):
    proxy_upstream.answer_next(
        Reply(text="I will write the file.", tool_use=(WRITE_FILE,)),
        Reply(text="Wrote made.txt for you."),
        when=with_tools,
    )

    run = vm.run(AGENT, "claude", "-p", "Write made.txt.", "--allowedTools", "Bash")

    assert run.returncode == 0, run.output
    assert (vm.workdir / "made.txt").read_text() == "written-by-claude\n"
    turns = [body for body in inference(proxy_upstream) if with_tools(body)]
    assert len(turns) == 2
    assert "Bash" in [tool["name"] for tool in turns[0]["tools"]]
    result = turns[1]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result"
    assert result["tool_use_id"] == "toolu_01"
    assert "written-by-claude" in str(result["content"])
    assert "Wrote made.txt for you." in run.stdout
    assert vm.outside.attempts == []
