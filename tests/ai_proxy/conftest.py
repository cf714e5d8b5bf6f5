"""A live ASGI server, the fake provider behind it, and a proxy token of alice's workspace
(what an agent holds in the default, scoped, token mode)."""

import pytest

from tests.ai_proxy.live_proxy import LiveProxy
from tests.fakes.upstream import FakeUpstream
from tests.support import LiveWorkspace
from workspaces.models import TokenKind
from workspaces.tokens import token_mint


@pytest.fixture
def proxy(live_url: str, proxy_upstream: FakeUpstream, ws: LiveWorkspace) -> LiveProxy:
    _row, token = token_mint(workspace=ws.workspace, kind=TokenKind.PROXY)
    return LiveProxy(base=f"{live_url}/ai", token=token, upstream=proxy_upstream)


@pytest.fixture
def one_try(settings) -> None:
    """No second try upstream: the tests of what one failed answer becomes."""
    settings.AI_PROXY_UPSTREAM_ATTEMPTS = 1
