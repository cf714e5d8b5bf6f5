"""The server under the conditions of real use: a Host it does not serve, a body bigger than
anything it takes, Redis gone or silent, several workers, many agents at once."""

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterable, Iterator

import httpx
import pytest
import redis
from django.conf import settings as django_settings

from tests.ai_proxy.live_proxy import CLAUDE_MESSAGE
from tests.fakes.fixtures import ENV_ANTHROPIC_KEY, ENV_OPENAI_KEY
from tests.fakes.upstream import FakeUpstream, Reply
from tests.processes import ServerProcess, database_url, free_port
from tests.support import LiveWorkspace, make_workspace

UNAVAILABLE = "ai_proxy.shared_state_unavailable"


def _raw_exchange(url: str, head: bytes, chunks: Iterable[bytes] = ()) -> tuple[bytes, int]:
    """Send a request head and body chunks on a raw socket, until the server answers or
    stops reading; returns the whole answer (the server closes after a 413) and how many
    body bytes went out."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)
        connection.setblocking(False)
        answer = b""
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):
                answer += connection.recv(65536)
            if answer:
                break
            try:
                connection.sendall(chunk)
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
        connection.setblocking(True)
        with contextlib.suppress(ConnectionResetError):  # the server closed on unread bytes
            while part := connection.recv(65536):
                answer += part
        return answer, sent


def test_an_announced_body_over_the_cap_is_refused_before_any_of_it_is_read(live_url, ws):
    head = (
        f"POST /api/workspaces/{ws.id}/agent-key HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
    ).encode()

    answer, _sent = _raw_exchange(live_url, head)

    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"error": "payload_too_large"' in answer


def test_an_unannounced_body_is_cut_off_at_the_cap(live_url):
    head = (
        b"POST /api/workspaces/anyone/agent-key HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 65536
    chunks = (b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(160))  # 10 MiB

    answer, sent = _raw_exchange(live_url, head, chunks)

    assert answer.startswith(b"HTTP/1.1 413")
    # The answer came once the cap (2.5 MiB) was passed, long before the 10 MiB went out.
    assert sent < 6 * 1024 * 1024


@pytest.fixture
def fake_provider(fake_upstream: FakeUpstream) -> FakeUpstream:
    fake_upstream.default = Reply()
    return fake_upstream


def _proxy_env(upstream: FakeUpstream, **more: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(),
        "AI_PROXY_ANTHROPIC_UPSTREAM": upstream.url,
        "AI_PROXY_OPENAI_UPSTREAM": upstream.openai_url,
        "AI_PROXY_ANTHROPIC_API_KEY": ENV_ANTHROPIC_KEY,
        "AI_PROXY_OPENAI_API_KEY": ENV_OPENAI_KEY,
        "LOG_LEVEL": "INFO",
        **more,
    }


@pytest.fixture
def workspace(transactional_db, model_catalog, alice) -> LiveWorkspace:
    return make_workspace(alice)


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A Redis address that accepts connections and never answers (a network partition)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.parametrize("where", ["closed port", "silent"])
def test_with_redis_gone_the_proxy_serves_on_per_process_limits_and_says_so_once(
    where, workspace, fake_provider, silent_redis, tmp_path
):
    redis_url = silent_redis if where == "silent" else f"redis://127.0.0.1:{free_port()}/0"
    env = _proxy_env(fake_provider, REDIS_URL=redis_url, AI_PROXY_RATE_LIMIT_RPM="8")
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        headers = {"Authorization": f"Bearer {workspace.proxy_token()}"}
        started = time.monotonic()
        statuses = [
            httpx.post(
                f"{server.url}/ai/anthropic/v1/messages",
                json=CLAUDE_MESSAGE,
                headers=headers,
                timeout=30,
            ).status_code
            for _ in range(10)
        ]
        elapsed = time.monotonic() - started
    finally:
        server.stop()

    # The limit still holds, counted in the process; nothing froze on the way.
    assert statuses == [200] * 8 + [429] * 2
    assert elapsed < 10
    assert server.output().count(UNAVAILABLE) == 1


@pytest.mark.postgres
def test_a_hundred_agents_at_once_share_a_bounded_set_of_redis_connections(
    workspace, fake_provider, tmp_path
):
    fake_provider.default = Reply(delay=0.3)
    env = _proxy_env(
        fake_provider,
        REDIS_URL=django_settings.REDIS_URL,
        AI_PROXY_REDIS_CONNECTIONS="8",
        AI_PROXY_RATE_LIMIT_RPM="1000",
        AI_PROXY_MAX_PARALLEL_REQUESTS="1000",  # the hundred are in flight at once
    )
    server = ServerProcess(env, tmp_path / "server.log").start()
    watcher = redis.Redis.from_url(django_settings.REDIS_URL)
    before = len(watcher.client_list())
    peak = 0

    token = workspace.proxy_token()

    async def load() -> list[int]:
        async with httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=100)
        ) as client:
            headers = {"Authorization": f"Bearer {token}"}
            calls = [
                client.post(
                    f"{server.url}/ai/anthropic/v1/messages", json=CLAUDE_MESSAGE, headers=headers
                )
                for _ in range(100)
            ]
            return [response.status_code for response in await asyncio.gather(*calls)]

    def watch(stop: threading.Event) -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, len(watcher.client_list()) - before)
            time.sleep(0.02)

    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(stop,), daemon=True)
    thread.start()
    try:
        statuses = asyncio.run(load())
    finally:
        stop.set()
        thread.join(5)
        server.stop()

    assert statuses == [200] * 100
    # The proxy's pool (8), and Django's cache client for the configuration snapshot.
    assert peak <= 8 + 2
    assert UNAVAILABLE not in server.output()


@pytest.mark.postgres
def test_three_workers_start_and_serve_agent_key_and_the_proxy(workspace, fake_provider, tmp_path):
    env = _proxy_env(fake_provider, REDIS_URL=django_settings.REDIS_URL)
    server = ServerProcess(env, tmp_path / "server.log", "--workers", "3").start()
    try:
        headers = {"Authorization": f"Bearer {workspace.token}"}
        keys = [
            httpx.post(
                f"{server.url}/api/workspaces/{workspace.id}/agent-key",
                json={"agentType": "claude-code"},
                headers=headers,
                timeout=30,
            )
            for _ in range(12)
        ]
        # The agent's key: the proxy token agent-key minted.
        agent = {"Authorization": f"Bearer {keys[0].json()['apiKey']}"}
        answers = [
            httpx.post(
                f"{server.url}/ai/anthropic/v1/messages",
                json=CLAUDE_MESSAGE,
                headers=agent,
                timeout=30,
            )
            for _ in range(12)
        ]
    finally:
        server.stop()

    assert [response.status_code for response in keys] == [200] * 12
    assert keys[0].json()["inferenceConfig"]["provider"] == "anthropic-proxy"
    assert [response.status_code for response in answers] == [200] * 12
    assert server.output().count("Started server process") == 3
    assert "Traceback" not in server.output()
