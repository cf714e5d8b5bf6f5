"""The one POST to the control plane: what is sent, timeouts, redirects, and each status's exit code."""

import socket
import time
import uuid

import pytest

from agent_client.cli import main
from agent_client.errors import ControlPlaneError
from agent_client.origin import parse_url
from agent_client.redaction import Secret
from agent_client.transport import post_json
from tests.agent_client.answers import CALLBACK_TOKEN, CLAUDE_KEY, key_answer
from tests.agent_client.scripted_server import Answer, ScriptedServer

WORKSPACE = str(uuid.uuid4())


def run_client(capsys, control_plane, *args):
    environ = {
        "SAM_CONTROL_PLANE_URL": control_plane,
        "SAM_WORKSPACE_ID": WORKSPACE,
        "SAM_CALLBACK_TOKEN": CALLBACK_TOKEN,
    }
    code = main(["env", "--format", "json", *args], environ)
    out, err = capsys.readouterr()
    assert CALLBACK_TOKEN not in err
    return code, out, err


def test_it_sends_one_post_with_the_agent_type_and_the_token_as_bearer(scripted, capsys):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))

    code, _out, _err = run_client(capsys, scripted.url, "--agent", "claude-code")

    assert code == 0
    assert len(scripted.received) == 1
    request = scripted.received[0]
    assert request.method == "POST"
    assert request.path == f"/api/workspaces/{WORKSPACE}/agent-key"
    assert request.json() == {"agentType": "claude-code"}
    assert request.headers["authorization"] == f"Bearer {CALLBACK_TOKEN}"
    assert request.headers["content-type"] == "application/json"


def test_a_control_plane_under_a_path_prefix_is_called_under_it(scripted, capsys):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY)))

    run_client(capsys, scripted.url + "/sam/", "--agent", "claude-code")

    assert scripted.received[0].path == f"/sam/api/workspaces/{WORKSPACE}/agent-key"


def test_a_404_means_no_credential_and_exits_3(scripted, capsys):
    scripted.answer(Answer(404, {"error": "not_found", "message": "Agent credential not found"}))

    code, out, err = run_client(capsys, scripted.url, "--agent", "google-gemini")

    assert code == 3
    assert out == ""
    assert "no credential configured for google-gemini" in err


@pytest.mark.parametrize(
    ("status", "error"), [(401, "authentication_failed"), (403, "insufficient_scope")]
)
def test_a_refused_token_exits_4_with_the_servers_reason(scripted, capsys, status, error):
    scripted.answer(Answer(status, {"error": error, "message": "Refused."}))

    code, out, err = run_client(capsys, scripted.url, "--agent", "claude-code")

    assert code == 4
    assert out == ""
    assert f"HTTP {status} {error}: Refused." in err


@pytest.mark.parametrize("status", [400, 413, 500, 502, 503])
def test_any_other_status_exits_5(scripted, capsys, status):
    scripted.answer(Answer(status, {"error": "x", "message": "y"}))

    code, _out, err = run_client(capsys, scripted.url, "--agent", "claude-code")

    assert code == 5
    assert f"HTTP {status}" in err


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>gateway</html>", "not JSON"),
        (b"", "not JSON"),
        ({"apiKey": 1}, "malformed"),
    ],
)
def test_a_malformed_200_exits_5(scripted, capsys, body, reason):
    scripted.answer(Answer(200, body))

    code, out, err = run_client(capsys, scripted.url, "--agent", "claude-code")

    assert code == 5
    assert out == ""
    assert reason in err


def test_an_error_body_echoing_the_token_is_redacted(scripted, capsys):
    scripted.answer(Answer(400, {"error": "bad_request", "message": f"bad {CALLBACK_TOKEN}"}))

    code, _out, err = run_client(capsys, scripted.url, "--agent", "claude-code")

    assert code == 5
    assert "bad [redacted]" in err


def test_a_redirect_is_not_followed_and_the_token_goes_nowhere_else(scripted, capsys):
    elsewhere = ScriptedServer().start()
    try:
        scripted.answer(Answer(307, b"", headers={"Location": elsewhere.url + "/steal"}))

        code, _out, err = run_client(capsys, scripted.url, "--agent", "claude-code")

        assert code == 5
        assert "HTTP 307" in err
        assert elsewhere.received == []
    finally:
        elsewhere.stop()


def test_an_unreachable_control_plane_exits_5(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    code, _out, err = run_client(capsys, f"http://127.0.0.1:{port}", "--agent", "claude-code")

    assert code == 5
    assert "cannot reach the control plane" in err


def control_plane(server):
    return parse_url(server.url, what="control plane")


def test_a_server_that_does_not_answer_is_given_up_on_at_the_total_timeout(scripted):
    scripted.answer(Answer(200, key_answer(CLAUDE_KEY), delay=3))
    started = time.monotonic()

    with pytest.raises(ControlPlaneError, match=r"did not answer within 0\.5 s"):
        post_json(control_plane(scripted), "/x", {}, Secret(CALLBACK_TOKEN), total_timeout=0.5)

    assert time.monotonic() - started < 2


def test_a_server_trickling_its_answer_cannot_outlast_the_total_timeout(scripted):
    scripted.answer(Answer(200, {"apiKey": "x" * 100}, trickle=0.05))
    started = time.monotonic()

    with pytest.raises(ControlPlaneError, match="did not answer within 1 s"):
        post_json(control_plane(scripted), "/x", {}, Secret(CALLBACK_TOKEN), total_timeout=1)

    assert time.monotonic() - started < 2.5


def test_connecting_is_given_up_on_at_the_connect_timeout():
    # A listening socket whose accept queue is full drops new connection attempts.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    started = time.monotonic()
    try:
        with pytest.raises(ControlPlaneError, match=r"could not connect .* within 0\.5 s"):
            post_json(
                parse_url(f"http://127.0.0.1:{port}", what="control plane"),
                "/x",
                {},
                Secret(CALLBACK_TOKEN),
                connect_timeout=0.5,
            )
        assert time.monotonic() - started < 2
    finally:
        for filler in fillers:
            filler.close()
        server.close()


def test_an_answer_over_1_mib_is_refused(scripted):
    scripted.answer(Answer(200, b"x" * (1024 * 1024 + 1)))

    with pytest.raises(ControlPlaneError, match="larger than 1 MiB"):
        post_json(control_plane(scripted), "/x", {}, Secret(CALLBACK_TOKEN))


def test_the_defaults_are_5_seconds_to_connect_and_30_in_all():
    from agent_client import transport

    assert (transport.CONNECT_TIMEOUT, transport.TOTAL_TIMEOUT) == (5.0, 30.0)
