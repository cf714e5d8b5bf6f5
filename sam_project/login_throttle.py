"""Login throttling (SPEC §26), with django-axes: which address a sign-in comes from, and the
page a locked-out username and address get on `/accounts/login/` and `/admin/login/`.

Failures are counted per username and address in the database (axes' `AccessAttempt`), so
every server process sees the same count; an admin unlocks by deleting the attempt in the
admin (*Axes → Access attempts*).
"""

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in comes from.

    `REMOTE_ADDR`, the peer of the connection (uvicorn itself replaces it with the
    `X-Forwarded-For` of a proxy it trusts: `--forwarded-allow-ips`, by default 127.0.0.1).
    Only when `TRUSTED_PROXY_HEADER` says a TLS proxy stands in front is `X-Forwarded-For`
    read here, and then only its last entry: the address that proxy appended, which a client
    cannot choose (entries before it are whatever the client sent).
    """
    if settings.TRUSTED_PROXY_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, *args: Any) -> HttpResponse:
    """The page of a locked-out username and address: a clear message, status 429.

    Takes whatever else axes passes (its arguments differ between its sync and async paths).
    """
    context = {
        "title": "Too many failed sign-ins",
        "failure_limit": settings.LOGIN_FAILURE_LIMIT,
        "lockout_minutes": settings.LOGIN_LOCKOUT_MINUTES,
    }
    if request.path.startswith("/admin/"):
        context = {**admin.site.each_context(request), **context}
        return render(request, "admin/locked_out.html", context, status=429)
    return render(request, "registration/locked_out.html", context, status=429)
