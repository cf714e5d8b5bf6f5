"""The real Claude Code and Codex renew their proxy tokens themselves (SPEC 22.2): with a token
lifetime of a few seconds, a task whose tool runs longer than that still succeeds on every
request, because the CLI ran the client's hook (apiKeyHelper, provider auth) for new tokens."""

import logging
import time

import pytest

from tests.agent_clis.conftest import AgentVM, inference, with_tools
from tests.agent_clis.test_codex import EXEC
from tests.fakes.upstream import FakeUpstream, Reply
from workspaces.models import TokenKind, WorkspaceToken
from workspaces.tokens import hash_token

TTL_SECONDS = 3
# Longer than a token lives: the request after it needs a token minted after the first.
SLOW_COMMAND = f"sleep {TTL_SECONDS + 2} && echo slept > made.txt && cat made.txt"


@pytest.fixture
def short_tokens(settings, caplog):
    settings.AI_PROXY_TOKEN_MODE = "scoped"
    settings.AI_PROXY_TOKEN_TTL = TTL_SECONDS
    caplog.set_level(logging.INFO, logger="ai_proxy")


def proxy_requests(caplog):
    return [r for r in caplog.records if r.getMessage() == "ai_proxy.request"]


def inference_lines(caplog, upstream: FakeUpstream):
    """The proxy's lines, once one per inference request the upstream saw is in (a stream's
    line is written after its last byte, which can be after the CLI exited)."""
    expected = len(inference(upstream))
    deadline = time.monotonic() + 5
    while True:
        lines = proxy_requests(caplog)
        if len([r for r in lines if r.route != "openai.models"]) >= expected:
            return lines
        if time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def assert_every_request_succeeded_on_renewed_tokens(caplog, vm: AgentVM, upstream):
    lines = inference_lines(caplog, upstream)
    assert lines
    assert [line.status for line in lines] == [200] * len(lines)
    assert not [r for r in caplog.records if r.getMessage() == "auth.token_rejected"]
    used = {line.token_id for line in lines}
    assert len(used) >= 2
    kinds = set(WorkspaceToken.objects.filter(pk__in=used).values_list("kind", flat=True))
    assert kinds == {TokenKind.PROXY}
    callback = WorkspaceToken.objects.get(token_hash=hash_token(vm.workspace.token))
    assert callback.pk not in used


def assert_no_callback_token_in_files(vm: AgentVM):
    for path in vm.home.rglob("*"):
        if path.is_file():
            assert vm.workspace.token.encode() not in path.read_bytes(), path


def bash(call_id: str, command: str) -> dict:
    return {"id": call_id, "name": "Bash", "input": {"command": command, "description": call_id}}


def test_claude_code_works_past_its_tokens_lifetime_on_tokens_from_its_api_key_helper(
    vm: AgentVM, proxy_upstream: FakeUpstream, settings, short_tokens, caplog
):
    # Four steps of a second and a half: the task outlasts a token of four seconds, and
    # Claude Code, which runs the helper again once its answer is a second old, always
    # holds a live one.
    settings.AI_PROXY_TOKEN_TTL = 4
    steps = [bash(f"toolu_0{n}", f"sleep 1.5 && echo {n} >> made.txt") for n in (1, 2, 3, 4)]
    proxy_upstream.answer_next(
        *(Reply(text=f"Step {n}.", tool_use=(step,)) for n, step in enumerate(steps, 1)),
        Reply(text="Wrote made.txt in four steps."),
        when=with_tools,
    )

    run = vm.run("claude-code", "claude", "-p", "Write made.txt slowly.", "--allowedTools", "Bash")

    assert run.returncode == 0, run.output
    assert (vm.workdir / "made.txt").read_text() == "1\n2\n3\n4\n"
    assert "Wrote made.txt in four steps." in run.stdout
    assert len([body for body in inference(proxy_upstream) if with_tools(body)]) == 5
    assert_every_request_succeeded_on_renewed_tokens(caplog, vm, proxy_upstream)
    assert not (vm.home / ".claude" / "settings.json").exists()  # restored: there was none
    assert_no_callback_token_in_files(vm)
    assert vm.outside.attempts == []


def test_claude_code_idle_past_its_tokens_lifetime_gets_a_new_one_on_the_401(
    vm: AgentVM, proxy_upstream: FakeUpstream, short_tokens, caplog
):
    # Claude Code answers a request from its cached key and refreshes it behind that request,
    # so after an idle longer than a token's life its first request is refused; it runs the
    # helper at once and sends the request again, and the agent's turn succeeds.
    proxy_upstream.answer_next(
        Reply(text="I will wait, then write the file.", tool_use=(bash("toolu_01", SLOW_COMMAND),)),
        Reply(text="Waited and wrote made.txt."),
        when=with_tools,
    )

    run = vm.run(
        "claude-code", "claude", "-p", "Wait, then write made.txt.", "--allowedTools", "Bash"
    )

    assert run.returncode == 0, run.output
    assert (vm.workdir / "made.txt").read_text() == "slept\n"
    assert "Waited and wrote made.txt." in run.stdout
    assert len([body for body in inference(proxy_upstream) if with_tools(body)]) == 2
    lines = inference_lines(caplog, proxy_upstream)
    statuses = [line.status for line in lines]
    assert statuses.count(401) <= 1
    assert statuses[-1] == 200
    assert len({line.token_id for line in lines} - {None}) >= 2


def test_codex_runs_past_its_tokens_lifetime_on_tokens_from_its_provider_auth_command(
    vm: AgentVM, proxy_upstream: FakeUpstream, short_tokens, caplog
):
    proxy_upstream.answer_next(
        Reply(
            text="",
            reasoning="Wait, then write the file.",
            tool_use=({"id": "call_01", "name": "exec_command", "input": {"cmd": SLOW_COMMAND}},),
        ),
        Reply(text="Waited and wrote made.txt."),
    )

    run = vm.run("openai-codex", *EXEC, "Wait, then write made.txt.")

    assert run.returncode == 0, run.output
    assert (vm.workdir / "made.txt").read_text() == "slept\n"
    assert run.stdout.strip() == "Waited and wrote made.txt."
    assert len(inference(proxy_upstream)) == 2
    assert_every_request_succeeded_on_renewed_tokens(caplog, vm, proxy_upstream)
    config = (vm.codex_home / "config.toml").read_text()
    assert "[model_providers.sam-proxy.auth]" in config
    assert_no_callback_token_in_files(vm)
    assert vm.outside.attempts == []
