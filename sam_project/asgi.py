"""ASGI entry point: `uvicorn sam_project.asgi:application` (streams the AI proxy).

Requests under /ai/ go to the proxy's own lean handler (see `ai_proxy.asgi`); everything
else to Django's standard one.
"""

import gc
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam_project.settings")

django_application = get_asgi_application()

from ai_proxy.asgi import ProxyASGIHandler  # noqa: E402 - needs the app registry
from ai_proxy.usage import usage_writes_drain  # noqa: E402 - needs the app registry
from sam_project.background import (  # noqa: E402 - needs the app registry
    background_jobs_start,
    background_jobs_stop,
)
from sam_project.checks import refuse_to_start_on_errors  # noqa: E402 - needs the app registry

refuse_to_start_on_errors()

proxy_application = ProxyASGIHandler()

# What is loaded by now (Django, the apps, the URL map) lives as long as the process. Frozen,
# the garbage collector's full passes no longer walk it, and stop pausing every request in
# flight: at 50 concurrent proxy requests this takes the added p99 from about 12 ms to 5.
gc.freeze()


async def lifespan(receive: Any, send: Any) -> None:
    """Server start and stop. On start, the scheduled jobs begin (`sam_project.background`);
    on stop, they end and usage records still being written are awaited."""
    jobs = []
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            jobs = background_jobs_start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await background_jobs_stop(jobs)
            await usage_writes_drain()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].startswith("/ai/"):
        await proxy_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
