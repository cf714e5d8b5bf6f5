"""Fixtures for the fake AI provider (see `tests.fakes.upstream` for what it speaks).

- `fake_upstream`: the running fake, reset for the test (one server per test session).
- `proxy_upstream`: the same fake, with the AI proxy's settings pointed at it and the
  environment platform keys `ENV_ANTHROPIC_KEY` / `ENV_OPENAI_KEY` set.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream

ENV_ANTHROPIC_KEY = "sk-ant-api03-env-platform-key-00000000000000000FFFF"
ENV_OPENAI_KEY = "sk-proj-env-platform-openai-key-0000000000000000GGGG"


@pytest.fixture(scope="session")
def _fake_upstream_server() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_upstream(_fake_upstream_server: FakeUpstream) -> FakeUpstream:
    _fake_upstream_server.reset()
    return _fake_upstream_server


@pytest.fixture
def proxy_upstream(fake_upstream: FakeUpstream, settings: Any) -> FakeUpstream:
    settings.AI_PROXY_ANTHROPIC_UPSTREAM = fake_upstream.url
    settings.AI_PROXY_OPENAI_UPSTREAM = fake_upstream.openai_url
    settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM = ""
    settings.AI_PROXY_ANTHROPIC_API_KEY = ENV_ANTHROPIC_KEY
    settings.AI_PROXY_OPENAI_API_KEY = ENV_OPENAI_KEY
    settings.AI_PROXY_OPENAI_COMPATIBLE_API_KEY = ""
    return fake_upstream
