"""Fixtures for the VM client's tests: a scripted loopback server and a private CODEX_HOME."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent_client.scripted_server import ScriptedServer


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    """Where Codex's files go in a test ($CODEX_HOME); not created in advance."""
    return tmp_path / "codex-home"
