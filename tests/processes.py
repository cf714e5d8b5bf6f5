"""Real server processes (uvicorn running `sam_project.asgi:application`, as in production)
over the test database, for tests of what holds across processes, needs settings of its own,
or kills a server.

`ServerProcess` runs one with the environment of the test process plus what the test gives,
its output in a file; `server_process` / `server_processes` run them for a `with` block.
Their data must be committed: use them from tests with `transactional_db`.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database (pytest-django's), as a DATABASE_URL another process can open."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """One uvicorn process on a free loopback port; `url` once `start()` has returned."""

    def __init__(self, env: dict[str, str], log: Path, *extra_args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log = log
        self.args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> "ServerProcess":
        return self.launch().wait_until_up(timeout)

    def launch(self) -> "ServerProcess":
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "sam_project.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--lifespan",
                    "on",
                    "--no-access-log",
                    *self.args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_until_up(self, timeout: float = 60) -> "ServerProcess":
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.output()}")
            try:
                httpx.get(f"{self.url}/health", timeout=5)
                return self  # it answers (healthy or not)
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: requests in flight and pending writes end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def server_process(**env: str) -> Iterator[str]:
    """One server over the test database, with these environment variables on top of the
    test environment; yields its base URL once it is healthy and stops it (SIGTERM) after."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        server = ServerProcess(
            {"DATABASE_URL": database_url(), **env}, Path(log.name), "--log-level", "warning"
        ).start(timeout=30)
        try:
            yield server.url
        finally:
            server.stop()


@contextmanager
def server_processes(count: int, **env: str) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(server_process(**env)) for _ in range(count)]


def set_server_password(user, raw: str) -> None:
    """Give the user a password a server process can check: the test process hashes with MD5
    (fast), which the servers' hashers do not read; PBKDF2 with few iterations they do."""
    user.password = PBKDF2PasswordHasher().encode(raw, "saltsaltsalt", iterations=1000)
    user.save(update_fields=["password"])
