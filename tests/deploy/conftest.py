"""The deploy tests need nginx (Debian's, at /usr/sbin/nginx; `apt-get install -y nginx`,
which CI does). Without it they fail saying so, rather than skip, so CI cannot go green
without them; SAM_SKIP_DEPLOY_TESTS=1 skips them on purpose."""

import os

import pytest

from tests.deploy.nginx import nginx_required


@pytest.fixture(autouse=True)
def _nginx_installed() -> None:
    if os.environ.get("SAM_SKIP_DEPLOY_TESTS") == "1":
        pytest.skip("SAM_SKIP_DEPLOY_TESTS=1")
    nginx_required()
