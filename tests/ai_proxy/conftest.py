"""A live ASGI server, the fake provider behind it, and alice's workspace token."""

import pytest

from tests.ai_proxy.live_proxy import LiveProxy
from tests.fakes.upstream import FakeUpstream
from tests.support import LiveWorkspace


@pytest.fixture
def proxy(live_url: str, proxy_upstream: FakeUpstream, ws: LiveWorkspace) -> LiveProxy:
    return LiveProxy(base=f"{live_url}/ai", token=ws.token, upstream=proxy_upstream)


@pytest.fixture
def one_try(settings) -> None:
    """No second try upstream: the tests of what one failed answer becomes."""
    settings.AI_PROXY_UPSTREAM_ATTEMPTS = 1
