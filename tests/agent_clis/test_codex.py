"""Codex (`codex exec`), started by the client with zero keys, works through the proxy: the
client's provider block in config.toml, the Responses API, streamed, on the platform key."""

import json

from tests.agent_clis.conftest import AgentVM, inference
from tests.fakes.fixtures import ENV_OPENAI_KEY
from tests.fakes.upstream import FakeUpstream, Reply

AGENT = "openai-codex"
# Outside a git repository, running commands without asking and without Codex's own sandbox
# (bubblewrap): the VM is the sandbox.
EXEC = ("codex", "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox")
WRITE_FILE = {
    "id": "call_01",
    "name": "exec_command",
    "input": {"cmd": "echo written-by-codex > made.txt && cat made.txt"},
}


def test_codex_answers_a_prompt_through_the_proxy(vm: AgentVM, proxy_upstream: FakeUpstream):
    proxy_upstream.answer_next(Reply(text="Pong from the platform model."))

    run = vm.run(AGENT, *EXEC, "Say pong.")

    assert run.returncode == 0, run.output
    assert run.stdout.strip() == "Pong from the platform model."
    turn = next(r for r in proxy_upstream.received if r.path == "/v1/responses")
    assert turn.key == ENV_OPENAI_KEY
    body = turn.json()
    assert body["model"] == "gpt-4.1"
    assert body["stream"] is True
    assert "Say pong." in json.dumps(body["input"][-1])
    assert vm.outside.attempts == []


def test_codex_runs_the_command_the_model_asks_for_then_answers(
    vm: AgentVM, proxy_upstream: FakeUpstream
):
    proxy_upstream.answer_next(
        Reply(text="", reasoning="Write the file with the shell.", tool_use=(WRITE_FILE,)),
        Reply(text="Wrote made.txt for you."),
    )

    run = vm.run(AGENT, *EXEC, "Write made.txt.")

    assert run.returncode == 0, run.output
    assert (vm.workdir / "made.txt").read_text() == "written-by-codex\n"
    first, second = inference(proxy_upstream)
    assert "exec_command" in [tool.get("name") for tool in first["tools"]]
    items = {item["type"]: item for item in second["input"] if "type" in item}
    assert items["function_call"]["call_id"] == "call_01"
    assert items["function_call_output"]["call_id"] == "call_01"
    assert "written-by-codex" in items["function_call_output"]["output"]
    # store is false, so the reasoning goes back to the model as its encrypted content.
    assert items["reasoning"]["encrypted_content"]
    assert run.stdout.strip() == "Wrote made.txt for you."
    assert vm.outside.attempts == []
