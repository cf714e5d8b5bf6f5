"""`GET /health/ready` (SPEC §23): ready when the database answers and the cache does; a
503 naming the part that failed otherwise. The failures are real: a server process pointed
at a database that does not exist, at a port where no Redis listens, or at one that accepts
connections and never answers."""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.processes import ServerProcess, database_url, free_port

pytestmark = pytest.mark.django_db

REDIS_PASSWORD = "redis-password-never-logged-4242"
DATABASE_PASSWORD = "database-password-never-logged-4242"


def test_readiness_says_ready_when_the_database_and_the_cache_answer(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert "no-cache" in response["Cache-Control"]


def test_readiness_is_only_read(client):
    assert client.post("/health/ready").status_code == 405


def _missing_database_url(tmp_path: Path) -> str:
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        host, port = settings["HOST"], settings["PORT"] or 5432
        user = f"{settings['USER']}:{DATABASE_PASSWORD}"
        return f"postgres://{user}@{host}:{port}/sam_no_such_database"
    return f"sqlite:///{tmp_path / 'no-such-directory' / 'db.sqlite3'}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for process in started:
        process.stop()


def _serve(server: list[ServerProcess], tmp_path: Path, **env: str) -> ServerProcess:
    # The database and cache of this test run, unless the test says otherwise.
    base = {"DATABASE_URL": database_url(), "DATABASE_POOL_TIMEOUT": "1"}
    process = ServerProcess({**base, **env}, tmp_path / f"server-{len(server)}.log")
    server.append(process)
    return process.start()


def test_readiness_says_the_database_is_unreachable_when_it_does_not_exist(server, tmp_path):
    process = _serve(server, tmp_path, DATABASE_URL=_missing_database_url(tmp_path))

    response = httpx.get(f"{process.url}/health/ready", timeout=10)

    assert response.status_code == 503
    assert response.json() == {"status": "unready", "database": "unreachable", "cache": "ok"}
    assert "no-cache" in response.headers["Cache-Control"]
    assert "health.unready" in process.output()
    assert DATABASE_PASSWORD not in process.output()
    assert DATABASE_PASSWORD not in response.text


def test_readiness_says_the_cache_is_unreachable_when_no_redis_listens(server, tmp_path):
    closed = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    process = _serve(server, tmp_path, REDIS_URL=closed)

    response = httpx.get(f"{process.url}/health/ready", timeout=10)

    assert response.status_code == 503
    assert response.json() == {"status": "unready", "database": "ok", "cache": "unreachable"}
    assert "health.unready" in process.output()
    assert REDIS_PASSWORD not in process.output()
    assert REDIS_PASSWORD not in response.text


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A loopback port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for sock in accepted:
        sock.close()
    listener.close()


def test_readiness_answers_when_redis_accepts_and_never_replies(server, tmp_path, silent_redis):
    process = _serve(server, tmp_path, REDIS_URL=silent_redis)

    response = httpx.get(f"{process.url}/health/ready", timeout=10)

    assert response.status_code == 503
    assert response.json() == {"status": "unready", "database": "ok", "cache": "unreachable"}
    # Liveness is not readiness: the process itself is fine.
    assert httpx.get(f"{process.url}/health", timeout=10).status_code == 200
