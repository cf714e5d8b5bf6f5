"""`GET /metrics`: every series of the control plane in Prometheus' text format (SPEC 23).

The series are defined by the modules that move them (`ai_proxy.metrics`,
`workspaces.metrics`). With several workers, prometheus-client's multiprocess mode: each
worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (the variable must be set
before the server starts, and the directory emptied: the deploy's unit does both) and this
view adds up the files of all of them. A worker that stops takes its share of the gauge of
requests in flight with it (`metrics_process_exit`).

With METRICS_TOKEN set, the scraper must send it as a bearer token; without it the page is
open, so the nginx site of `deploy/` does not pass /metrics on: Prometheus scrapes each
instance on its private address.
"""

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

import ai_proxy.metrics  # noqa: F401 - defines the proxy's series
import workspaces.metrics  # noqa: F401 - defines the agent-key series
from workspaces.tokens import bearer_token


def _registry() -> CollectorRegistry:
    if not settings.PROMETHEUS_MULTIPROC_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    return registry


def _authorized(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    given = bearer_token(request.headers.get("Authorization"))
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        response = JsonResponse(
            {
                "error": "metrics_token_required",
                "message": "Send the metrics token as 'Authorization: Bearer <token>'.",
            },
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def metrics_process_exit() -> None:
    """This worker is stopping: its live gauges (requests in flight) leave the sum."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.mark_process_dead(os.getpid(), settings.PROMETHEUS_MULTIPROC_DIR)
