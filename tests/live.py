"""A real ASGI server (uvicorn, as in production) serving the project to tests, in a thread.

It runs in the test process, so it uses the test database and sees `settings` overrides.
Tests that use it need committed data: request `live_url`, which implies `transactional_db`.
"""

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from ai_proxy.runtime import writes_in_flight


class ThreadedServer:
    def __init__(self, app: Any, **config: Any):
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", **config
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock():
        from sam_project.asgi import application

        server = ThreadedServer(application)
        url = server.start()
    yield url
    # Its lifespan shutdown closes the proxy's database pool: the test database cannot be
    # dropped (PostgreSQL) while connections to it are open.
    server.stop()


@pytest.fixture
def live_url(_asgi_server: str, transactional_db: Any, model_catalog: None) -> Iterator[str]:
    """Base URL of the live server, e.g. http://127.0.0.1:40123 (no trailing slash), over a
    database holding what the migrations seed."""
    yield _asgi_server
    # A client that left mid-answer may leave its usage write running; let it land before
    # the database is emptied for the next test (it would race the flush).
    deadline = time.monotonic() + 10
    while writes_in_flight() and time.monotonic() < deadline:
        time.sleep(0.01)
