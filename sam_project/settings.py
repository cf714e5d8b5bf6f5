"""Settings of the SAM control plane.

Every value comes from the environment (or a local `.env` file); `.env.example` lists and
explains each one. Values that several settings must agree on are checked by the system
checks in `sam_project/checks.py` (ids `sam.E001`…).
"""

import os
import warnings
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# `SAM_ENV_FILE=` (empty) turns the file off; the test suite does so to stay hermetic.
_env_file = os.environ.get("SAM_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    environ.Env.read_env(_env_file)


def _read(parse: Callable[..., Any], name: str, what: str, **kwargs: Any) -> Any:
    """Read one typed variable; a bad value fails at startup naming the variable only."""
    try:
        return parse(name, **kwargs)
    except ImproperlyConfigured:
        raise
    except (ValueError, TypeError, InvalidOperation):
        raise ImproperlyConfigured(f"{name} must be {what}.") from None


_BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
    "": False,
}


def _strict_bool(name: str, default: bool) -> bool:
    """Like env.bool, but a typo ("ture") is an error instead of a silent False."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() not in _BOOLEANS:
        raise ValueError(name)
    return _BOOLEANS[raw.strip().lower()]


SECRET_KEY = env.str("SECRET_KEY")
DEBUG = _read(_strict_bool, "DEBUG", "true or false", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "sam_project",
    "audit",
    "catalog",
    "credentials",
    "workspaces",
    "ai_proxy",
    "portal",
]

MIDDLEWARE = [
    "sam_project.middleware.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so it sees the login views' failures (and answers the lockout page).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sam_project.urls"
ASGI_APPLICATION = "sam_project.asgi.application"
WSGI_APPLICATION = "sam_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Connections each server process keeps to PostgreSQL, per pool (Django's, and the proxy's).
DATABASE_POOL_SIZE = _read(env.int, "DATABASE_POOL_SIZE", "an integer", default=10)
# How long a request waits for a pooled connection before it fails (the server's start-up
# checks too, when the database is gone).
DATABASE_POOL_TIMEOUT = _read(
    env.float, "DATABASE_POOL_TIMEOUT", "a number of seconds", default=30.0
)
# Database: an SQLite file by default (the embedded mode), PostgreSQL beyond one machine.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
            # BEGIN so concurrent writers queue on the busy timeout instead of failing.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests use a file, not memory, so a live server thread gets connections of its own.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs its database work in a fresh thread, so Django's
    # persistent connections cannot be reused; psycopg's pool hands connections across.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "pool",
        {"min_size": 1, "max_size": DATABASE_POOL_SIZE, "timeout": DATABASE_POOL_TIMEOUT},
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: per-process memory by default; Redis (shared by every worker) when REDIS_URL is set.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sam",
            # An unreachable or silent Redis fails a call within a second, instead of holding
            # a request (or the readiness check) for as long as the operating system retries.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out username and address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/settings/agents/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Static files (the admin's, Swagger UI's, the pages') are served by WhiteNoise from the
# apps' own folders, so one process needs nothing else; `manage.py collectstatic` writes them
# (compressed) to STATIC_ROOT for a web server or CDN in front, when there is one.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Under ASGI Django reads WhiteNoise's file answers whole on a worker thread, and warns it
# does so; static files here are small (the largest, Swagger UI's bundle, is 1.5 MB).
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Behind TLS (SPEC §26; `manage.py check` warns when a public host runs without them) ---
# Session and CSRF cookies only over HTTPS.
SECURE_COOKIES = _read(_strict_bool, "SECURE_COOKIES", "true or false", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
# The header a TLS-terminating proxy sets to "https", e.g. X-Forwarded-Proto. Only name a
# header the proxy always sets (or strips): a client could send it otherwise.
TRUSTED_PROXY_HEADER = env.str("TRUSTED_PROXY_HEADER", default="").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + TRUSTED_PROXY_HEADER.upper().replace("-", "_"), "https")
    if TRUSTED_PROXY_HEADER
    else None
)
SECURE_HSTS_SECONDS = HSTS_SECONDS = _read(
    env.int, "HSTS_SECONDS", "a number of seconds", default=0
)
SECURE_SSL_REDIRECT = _read(_strict_bool, "SECURE_SSL_REDIRECT", "true or false", default=False)
# Load balancers probe, and Prometheus scrapes each instance, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^health/ready$", r"^metrics$"]

# Content Security Policy on every page (django-csp): nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Swagger UI and the admin draw some icons from data: URLs.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Login throttling (django-axes, stored in the database: holds across workers) -----------
LOGIN_FAILURE_LIMIT = _read(env.int, "LOGIN_FAILURE_LIMIT", "an integer", default=10)
LOGIN_LOCKOUT_MINUTES = _read(env.int, "LOGIN_LOCKOUT_MINUTES", "a number of minutes", default=15)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# One username from one address: a typo-prone user elsewhere is not locked out with it.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts while locked do not extend the lock: it ends LOGIN_LOCKOUT_MINUTES after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Masked in axes' log lines and in the form data it keeps (the password always is).
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
AXES_CLIENT_IP_CALLABLE = "sam_project.login_throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "sam_project.login_throttle.lockout_response"

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "sam_project.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SAM control plane API",
    "DESCRIPTION": (
        "Hands each AI coding agent in a workspace VM the right credential: the user's own "
        "key, the project's, or a workspace-scoped token for the platform AI proxy."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Swagger UI would otherwise load a badge from the public validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "workspaces.schema.exact_sync_request",
        "ai_proxy.schema.add_proxy_paths",
    ],
}

# --- Credentials ------------------------------------------------------------------------
# `ID:SECRET,ID:SECRET`, newest first: the newest encrypts, all decrypt. Never SECRET_KEY.
CREDENTIAL_ENCRYPTION_KEYS = env.str("CREDENTIAL_ENCRYPTION_KEYS", default="")
EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = _read(
    _strict_bool, "EXPOSE_PLATFORM_KEYS_TO_WORKSPACES", "true or false", default=False
)

# --- Workspaces -------------------------------------------------------------------------
CALLBACK_TOKEN_TTL = _read(env.int, "CALLBACK_TOKEN_TTL", "a number of seconds", default=86400)

# --- AI proxy ---------------------------------------------------------------------------
# The built-in value of each setting an admin can override: the admin page tells a value
# set in the environment from one left at its built-in default by comparing with these.
AI_PROXY_BUILT_IN_DEFAULTS: dict[str, Any] = {
    "AI_PROXY_ENABLED": True,
    "AI_PROXY_TOKEN_MODE": "scoped",
    "AI_PROXY_RATE_LIMIT_RPM": 30,
    "AI_PROXY_DAILY_INPUT_TOKENS": 1_000_000,
    "AI_PROXY_DAILY_OUTPUT_TOKENS": 200_000,
    "AI_PROXY_DAILY_COST_CAP_USD": Decimal("10"),
    "AI_PROXY_MAX_PARALLEL_REQUESTS": 8,
    "CREDENTIAL_DELIVERY": "direct",
}
_BUILT_IN = AI_PROXY_BUILT_IN_DEFAULTS
BASE_DOMAIN = env.str("BASE_DOMAIN", default="")
# Empty means https://api.<BASE_DOMAIN>; see ai_proxy.fallback.proxy_public_url().
AI_PROXY_PUBLIC_URL = env.str("AI_PROXY_PUBLIC_URL", default="")
AI_PROXY_ENABLED = _read(
    _strict_bool, "AI_PROXY_ENABLED", "true or false", default=_BUILT_IN["AI_PROXY_ENABLED"]
)
AI_PROXY_TOKEN_MODE = env.str("AI_PROXY_TOKEN_MODE", default=_BUILT_IN["AI_PROXY_TOKEN_MODE"])
# Proxy tokens of agents that renew theirs (Claude Code, Codex: catalog `renews_token`) live
# AI_PROXY_TOKEN_TTL; those of agents that cannot (OpenCode) AI_PROXY_STATIC_TOKEN_TTL.
AI_PROXY_TOKEN_TTL = _read(env.int, "AI_PROXY_TOKEN_TTL", "a number of seconds", default=3600)
AI_PROXY_STATIC_TOKEN_TTL = _read(
    env.int, "AI_PROXY_STATIC_TOKEN_TTL", "a number of seconds", default=43200
)
# How many proxy tokens one workspace's callback token may mint per minute (proxy-token).
AI_PROXY_TOKEN_MINTS_PER_MINUTE = _read(
    env.int, "AI_PROXY_TOKEN_MINTS_PER_MINUTE", "an integer", default=60
)
AI_PROXY_DEFAULT_MODEL = env.str("AI_PROXY_DEFAULT_MODEL", default="")
AI_PROXY_DEFAULT_ANTHROPIC_MODEL = env.str("AI_PROXY_DEFAULT_ANTHROPIC_MODEL", default="")
AI_PROXY_DEFAULT_OPENAI_MODEL = env.str("AI_PROXY_DEFAULT_OPENAI_MODEL", default="")
AI_PROXY_ANTHROPIC_UPSTREAM = env.str(
    "AI_PROXY_ANTHROPIC_UPSTREAM", default="https://api.anthropic.com"
)
AI_PROXY_OPENAI_UPSTREAM = env.str("AI_PROXY_OPENAI_UPSTREAM", default="https://api.openai.com/v1")
# Empty means the OpenAI upstream.
AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM = env.str("AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM", default="")
AI_PROXY_ANTHROPIC_API_KEY = env.str("AI_PROXY_ANTHROPIC_API_KEY", default="")
AI_PROXY_OPENAI_API_KEY = env.str("AI_PROXY_OPENAI_API_KEY", default="")
AI_PROXY_OPENAI_COMPATIBLE_API_KEY = env.str("AI_PROXY_OPENAI_COMPATIBLE_API_KEY", default="")
AI_PROXY_READ_TIMEOUT = _read(
    env.float, "AI_PROXY_READ_TIMEOUT", "a number of seconds", default=300.0
)
AI_PROXY_MAX_BODY_BYTES = _read(
    env.int, "AI_PROXY_MAX_BODY_BYTES", "a number of bytes", default=8 * 1024 * 1024
)
# How long a worker reuses a platform API key it read (process memory only, never the shared
# cache); also how long it may keep using a key after an admin replaced it. 0: read per request.
AI_PROXY_KEY_CACHE_SECONDS = _read(
    env.float, "AI_PROXY_KEY_CACHE_SECONDS", "a number of seconds", default=30.0
)
# Before the first byte reaches the client, a failed upstream request (429, 529, 5xx, no
# connection) is tried again on another healthy platform key: at most this many tries in all,
# within this many seconds, waits for `retry-after` included (SPEC 21).
AI_PROXY_UPSTREAM_ATTEMPTS = _read(env.int, "AI_PROXY_UPSTREAM_ATTEMPTS", "an integer", default=3)
AI_PROXY_RETRY_BUDGET_SECONDS = _read(
    env.float, "AI_PROXY_RETRY_BUDGET_SECONDS", "a number of seconds", default=20.0
)
# The proxy's own middleware under /ai/ (natively async; see ai_proxy.asgi).
AI_PROXY_MIDDLEWARE = [
    "sam_project.middleware.proxy_request_id_middleware",
    "ai_proxy.middleware.allowed_hosts_middleware",
]
# Upstream connections each worker keeps open at most (all providers together): one per
# request in flight, so above the 500 open streams a worker carries (SPEC 25).
AI_PROXY_UPSTREAM_CONNECTIONS = _read(
    env.int, "AI_PROXY_UPSTREAM_CONNECTIONS", "an integer", default=1000
)
# Redis connections each worker's proxy keeps at most (rate windows, slots, key health).
AI_PROXY_REDIS_CONNECTIONS = _read(env.int, "AI_PROXY_REDIS_CONNECTIONS", "an integer", default=50)
AI_PROXY_RATE_LIMIT_RPM = _read(
    env.int, "AI_PROXY_RATE_LIMIT_RPM", "an integer", default=_BUILT_IN["AI_PROXY_RATE_LIMIT_RPM"]
)
AI_PROXY_DAILY_INPUT_TOKENS = _read(
    env.int,
    "AI_PROXY_DAILY_INPUT_TOKENS",
    "an integer",
    default=_BUILT_IN["AI_PROXY_DAILY_INPUT_TOKENS"],
)
AI_PROXY_DAILY_OUTPUT_TOKENS = _read(
    env.int,
    "AI_PROXY_DAILY_OUTPUT_TOKENS",
    "an integer",
    default=_BUILT_IN["AI_PROXY_DAILY_OUTPUT_TOKENS"],
)
# USD a user's platform-paid traffic may cost a day; set empty for no cap.
AI_PROXY_DAILY_COST_CAP_USD = _read(
    lambda name, **kw: Decimal(env.str(name, **kw)) if env.str(name, **kw) else None,
    "AI_PROXY_DAILY_COST_CAP_USD",
    "an amount in USD, such as 25.00",
    default=str(_BUILT_IN["AI_PROXY_DAILY_COST_CAP_USD"]),
)
# Requests a user may have in flight at once, across workers (SPEC 20.3).
AI_PROXY_MAX_PARALLEL_REQUESTS = _read(
    env.int,
    "AI_PROXY_MAX_PARALLEL_REQUESTS",
    "an integer",
    default=_BUILT_IN["AI_PROXY_MAX_PARALLEL_REQUESTS"],
)
# How long the proxy remembers which workspace created a Responses answer (for
# previous_response_id, SPEC 20.2).
AI_PROXY_RESPONSE_ID_TTL = _read(
    env.int, "AI_PROXY_RESPONSE_ID_TTL", "a number of seconds", default=3600
)
# How a user's or project's own API key reaches the agent: `direct` (handed to the VM) or
# `proxy` (kept here; the agent uses the proxy with it). The admin can choose per agent.
CREDENTIAL_DELIVERY = env.str("CREDENTIAL_DELIVERY", default=_BUILT_IN["CREDENTIAL_DELIVERY"])

# --- Operations: metrics and budget alerts (SPEC 23) ------------------------------------
# The bearer token a scraper must send to GET /metrics; empty: /metrics is open (keep it off
# the public site: deploy/'s nginx does not pass it on).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# prometheus-client's multiprocess mode, for several workers: a directory every worker
# writes its series to, emptied before the server starts. prometheus-client reads the
# variable itself, from the environment, when it is first imported.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus-client turns multiprocess mode on when the variable exists at all, and an
    # empty one (`PROMETHEUS_MULTIPROC_DIR=` in a .env) would have it write to the cwd.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# A JSON POST to this URL when a user's day reaches AI_PROXY_ALERT_PERCENT and 100 % of a
# daily budget, signed with the secret; empty: no budget alerts.
AI_PROXY_ALERT_WEBHOOK_URL = env.str("AI_PROXY_ALERT_WEBHOOK_URL", default="")
AI_PROXY_ALERT_WEBHOOK_SECRET = env.str("AI_PROXY_ALERT_WEBHOOK_SECRET", default="")
AI_PROXY_ALERT_PERCENT = _read(env.int, "AI_PROXY_ALERT_PERCENT", "a percentage", default=80)
# How long one delivery may take, how often the server looks for alerts to send, the wait
# before the first retry (doubled at each one) and how many tries an alert gets.
AI_PROXY_ALERT_WEBHOOK_TIMEOUT = _read(
    env.float, "AI_PROXY_ALERT_WEBHOOK_TIMEOUT", "a number of seconds", default=10.0
)
AI_PROXY_ALERT_INTERVAL = _read(
    env.float, "AI_PROXY_ALERT_INTERVAL", "a number of seconds", default=5.0
)
AI_PROXY_ALERT_RETRY_SECONDS = _read(
    env.float, "AI_PROXY_ALERT_RETRY_SECONDS", "a number of seconds", default=30.0
)
AI_PROXY_ALERT_MAX_ATTEMPTS = _read(
    env.int, "AI_PROXY_ALERT_MAX_ATTEMPTS", "an integer", default=10
)

# --- Logging: one JSON line per event ---------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "sam_project.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # `http.request` lines replace Django's per-error request warnings.
        "django.request": {"level": "ERROR"},
        "aiohttp": {"level": "WARNING"},
    },
}
