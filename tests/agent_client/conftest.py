"""Fixtures for the VM client's tests: a scripted server, a CODEX_HOME, the client against the live server."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent_client.fake_inference import FakeInference
from tests.agent_client.scripted_server import ScriptedServer
from tests.agent_client.vm_client import VMClient
from tests.support import LiveWorkspace


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    """Where Codex's files go in a test ($CODEX_HOME); not created in advance."""
    return tmp_path / "codex-home"


@pytest.fixture
def vm(live_url: str, ws: LiveWorkspace, settings: Any, tmp_path: Path) -> VMClient:
    """The client in alice's workspace `ws`, against the live server, which places the proxy
    on its own origin (as production does with api.<BASE_DOMAIN>)."""
    settings.AI_PROXY_PUBLIC_URL = live_url
    home = tmp_path / "home"
    home.mkdir()
    return VMClient(control_plane=live_url, workspace_id=ws.id, token=ws.token, home=home)


@pytest.fixture
def fake_inference() -> Iterator[FakeInference]:
    server = FakeInference().start()
    yield server
    server.stop()
