"""System checks for settings that must agree with each other or with the database.

`manage.py check` (and `make run`, and the ASGI entry point) fail on any error here, naming
the variable to fix. Messages never quote a secret.
"""

import ipaddress
import os
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.db import DatabaseError
from django.db.models import Count

from credentials.encryption import KeyConfigError, parse_key_setting

TOKEN_MODES = ("callback", "scoped")
DELIVERIES = ("direct", "proxy")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
# Django's test client speaks as "testserver".
_LOCAL_NAMES = {"localhost", "testserver"}


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username


@register("sam")
def check_encryption_keys(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    raw = settings.CREDENTIAL_ENCRYPTION_KEYS
    if not raw.strip():
        message = "CREDENTIAL_ENCRYPTION_KEYS is not set; credentials cannot be stored or read."
        hint = "Set it to ID:SECRET (e.g. k1:<64 hex characters>); `make run` writes one into .env."
        if settings.DEBUG:
            return [Warning(message, hint=hint, id="sam.W001")]
        return [Error(message, hint=hint, id="sam.E001")]
    try:
        parse_key_setting(raw)
    except KeyConfigError as error:
        return [Error(str(error), id="sam.E002")]
    return []


@register("sam")
def check_proxy_settings(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.CREDENTIAL_DELIVERY not in DELIVERIES:
        errors.append(
            Error(f"CREDENTIAL_DELIVERY must be one of: {', '.join(DELIVERIES)}.", id="sam.E008")
        )
    if settings.AI_PROXY_TOKEN_MODE not in TOKEN_MODES:
        errors.append(
            Error(f"AI_PROXY_TOKEN_MODE must be one of: {', '.join(TOKEN_MODES)}.", id="sam.E003")
        )
    if settings.AI_PROXY_PUBLIC_URL:
        if not _is_http_url(settings.AI_PROXY_PUBLIC_URL):
            errors.append(Error("AI_PROXY_PUBLIC_URL must be an http(s) URL.", id="sam.E004"))
    elif not settings.BASE_DOMAIN:
        errors.append(
            Error(
                "Set AI_PROXY_PUBLIC_URL or BASE_DOMAIN: the proxy fallback needs a public URL.",
                id="sam.E004",
            )
        )
    for name in (
        "AI_PROXY_ANTHROPIC_UPSTREAM",
        "AI_PROXY_OPENAI_UPSTREAM",
        "AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM",
    ):
        value = getattr(settings, name)
        if value and not _is_http_url(value):
            errors.append(Error(f"{name} must be an http(s) URL.", id="sam.E005"))
    errors += _not_positive(
        "CALLBACK_TOKEN_TTL",
        "AI_PROXY_TOKEN_TTL",
        "AI_PROXY_STATIC_TOKEN_TTL",
        "AI_PROXY_TOKEN_MINTS_PER_MINUTE",
        "AI_PROXY_READ_TIMEOUT",
        "AI_PROXY_MAX_BODY_BYTES",
        "AI_PROXY_MAX_PARALLEL_REQUESTS",
        "AI_PROXY_RESPONSE_ID_TTL",
        "AI_PROXY_UPSTREAM_CONNECTIONS",
        "AI_PROXY_REDIS_CONNECTIONS",
    )
    for name in (
        "AI_PROXY_RATE_LIMIT_RPM",
        "AI_PROXY_DAILY_INPUT_TOKENS",
        "AI_PROXY_DAILY_OUTPUT_TOKENS",
    ):
        if getattr(settings, name) < 0:
            errors.append(Error(f"{name} cannot be negative.", id="sam.E006"))
    cap = settings.AI_PROXY_DAILY_COST_CAP_USD
    if cap is not None and (not cap.is_finite() or cap < 0):
        errors.append(Error("AI_PROXY_DAILY_COST_CAP_USD cannot be negative.", id="sam.E006"))
    return errors


def _is_local_host(host: str) -> bool:
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@register("sam")
def check_web_security(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """TLS and login settings that are malformed (errors), or missing where other machines
    reach the server (a warning: it still starts, e.g. behind a proxy still being set up)."""
    messages: list[CheckMessage] = []
    header = settings.TRUSTED_PROXY_HEADER
    if header and not _HEADER_NAME.match(header):
        messages.append(
            Error(
                "TRUSTED_PROXY_HEADER must be a header name, such as X-Forwarded-Proto.",
                id="sam.E007",
            )
        )
    if settings.HSTS_SECONDS < 0:
        messages.append(Error("HSTS_SECONDS cannot be negative.", id="sam.E006"))
    for name in ("LOGIN_FAILURE_LIMIT", "LOGIN_LOCKOUT_MINUTES"):
        if getattr(settings, name) <= 0:
            messages.append(Error(f"{name} must be greater than zero.", id="sam.E006"))
    public = [host for host in settings.ALLOWED_HOSTS if not _is_local_host(host)]
    missing = [
        name
        for name, value in (
            ("SECURE_COOKIES", settings.SECURE_COOKIES),
            ("HSTS_SECONDS", settings.HSTS_SECONDS > 0),
            ("SECURE_SSL_REDIRECT", settings.SECURE_SSL_REDIRECT),
        )
        if not value
    ]
    if not settings.DEBUG and public and missing:
        messages.append(
            Warning(
                f"ALLOWED_HOSTS holds {public[0]!r}, but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set: sessions and CSRF cookies "
                "can travel over plain HTTP.",
                hint="Serve over HTTPS and set SECURE_COOKIES=true, HSTS_SECONDS (e.g. "
                "31536000) and SECURE_SSL_REDIRECT=true; behind a TLS proxy also "
                "TRUSTED_PROXY_HEADER=X-Forwarded-Proto.",
                id="sam.W020",
            )
        )
    return messages


@register("sam")
def check_rows_readable(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Rows under a key that is missing (error) or not the newest (warning: rotate first)."""
    from credentials.models import Credential

    try:
        key_ids = [key_id for key_id, _ in parse_key_setting(settings.CREDENTIAL_ENCRYPTION_KEYS)]
    except KeyConfigError:
        return []  # reported by check_encryption_keys
    try:
        counts = dict(Credential.objects.values_list("key_id").annotate(n=Count("id")).order_by())
    except DatabaseError:
        return []  # no tables yet: nothing is encrypted
    messages: list[CheckMessage] = []
    for key_id, count in sorted(counts.items()):
        if key_id not in key_ids:
            messages.append(
                Error(
                    f"{count} credential(s) are encrypted with key '{key_id}', which "
                    "CREDENTIAL_ENCRYPTION_KEYS no longer lists; they cannot be read.",
                    hint="Add the key back (after the newest), then run rotate_credential_keys.",
                    id="sam.E010",
                )
            )
        elif key_id != key_ids[0]:
            messages.append(
                Warning(
                    f"{count} credential(s) are still encrypted with the older key '{key_id}'.",
                    hint="Run `manage.py rotate_credential_keys` before removing that key.",
                    id="sam.W011",
                )
            )
    return messages


def start_up_errors() -> list[str]:
    """The errors among the checks above, for a server about to start (which then refuses
    to). Run where database access is allowed: the lifespan start-up, off the event loop."""
    from django.core.checks import run_checks
    from django.db import connections

    try:
        return [f"{m.id}: {m.msg}" for m in run_checks(tags=["sam"]) if m.is_serious()]
    finally:
        connections.close_all()  # this thread serves no requests: let its connections go


@register("sam")
def check_operations(app_configs: Sequence[Any] | None, **kwargs: Any) -> list[CheckMessage]:
    """Budget alerts' webhook and prometheus-client's multiprocess directory (SPEC 23)."""
    errors: list[CheckMessage] = []
    url = settings.AI_PROXY_ALERT_WEBHOOK_URL
    if url and not _is_http_url(url):
        errors.append(Error("AI_PROXY_ALERT_WEBHOOK_URL must be an http(s) URL.", id="sam.E030"))
    if url and not settings.AI_PROXY_ALERT_WEBHOOK_SECRET:
        errors.append(
            Error(
                "Set AI_PROXY_ALERT_WEBHOOK_SECRET: budget alerts are signed with it.",
                id="sam.E030",
            )
        )
    if not 1 <= settings.AI_PROXY_ALERT_PERCENT <= 100:
        errors.append(Error("AI_PROXY_ALERT_PERCENT must be from 1 to 100.", id="sam.E006"))
    errors += _not_positive(
        "AI_PROXY_ALERT_WEBHOOK_TIMEOUT",
        "AI_PROXY_ALERT_INTERVAL",
        "AI_PROXY_ALERT_RETRY_SECONDS",
        "AI_PROXY_ALERT_MAX_ATTEMPTS",
    )
    directory = settings.PROMETHEUS_MULTIPROC_DIR
    if directory and not (os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)):
        errors.append(
            Error(
                "PROMETHEUS_MULTIPROC_DIR must be a directory the server can write to.",
                hint="Create it (empty) before the server starts, as deploy/systemd does.",
                id="sam.E031",
            )
        )
    return errors


def _not_positive(*names: str) -> list[Error]:
    """An error for each of these settings that is zero or below."""
    return [
        Error(f"{name} must be greater than zero.", id="sam.E006")
        for name in names
        if getattr(settings, name) <= 0
    ]
