"""Bad settings fail at startup with the variable's name (system checks sam.*)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

from credentials.models import Scope
from tests.support import CLAUDE_KEY, add_credential


def sam_messages():
    return {(m.id, m.msg.split(" ")[0]) for m in run_checks(tags=["sam"])}


def ids():
    return {m.id for m in run_checks(tags=["sam"])}


@pytest.mark.django_db
def test_the_test_configuration_passes_every_check():
    assert ids() == set()


@pytest.mark.django_db
def test_an_alert_webhook_needs_its_signing_secret(settings):
    settings.AI_PROXY_ALERT_WEBHOOK_URL = "https://hooks.example/alert"
    settings.AI_PROXY_ALERT_WEBHOOK_SECRET = ""

    messages = [m for m in run_checks(tags=["sam"]) if m.id == "sam.E030"]

    assert [m.msg for m in messages] == [
        "Set AI_PROXY_ALERT_WEBHOOK_SECRET: budget alerts are signed with it."
    ]
    settings.AI_PROXY_ALERT_WEBHOOK_SECRET = "a-secret"
    assert "sam.E030" not in ids()


@pytest.mark.django_db
def test_a_writable_metrics_directory_passes(settings, tmp_path):
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    assert "sam.E031" not in ids()


@pytest.mark.django_db
def test_missing_encryption_keys_are_an_error_outside_debug(settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = ""
    settings.DEBUG = False
    assert "sam.E001" in ids()
    settings.DEBUG = True
    assert "sam.W001" in ids()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("CREDENTIAL_ENCRYPTION_KEYS", "k1:short", "sam.E002"),
        ("AI_PROXY_TOKEN_MODE", "loose", "sam.E003"),
        ("AI_PROXY_PUBLIC_URL", "ftp://proxy.example", "sam.E004"),
        ("AI_PROXY_OPENAI_UPSTREAM", "not a url", "sam.E005"),
        ("AI_PROXY_TOKEN_TTL", 0, "sam.E006"),
        ("AI_PROXY_RATE_LIMIT_RPM", -1, "sam.E006"),
        ("AI_PROXY_MAX_PARALLEL_REQUESTS", 0, "sam.E006"),
        ("AI_PROXY_RESPONSE_ID_TTL", 0, "sam.E006"),
        ("CREDENTIAL_DELIVERY", "sometimes", "sam.E008"),
        ("AI_PROXY_ALERT_WEBHOOK_URL", "hooks.example/alert", "sam.E030"),
        ("AI_PROXY_ALERT_PERCENT", 0, "sam.E006"),
        ("AI_PROXY_ALERT_PERCENT", 101, "sam.E006"),
        ("AI_PROXY_ALERT_WEBHOOK_TIMEOUT", 0, "sam.E006"),
        ("AI_PROXY_ALERT_INTERVAL", 0, "sam.E006"),
        ("AI_PROXY_ALERT_RETRY_SECONDS", 0, "sam.E006"),
        ("AI_PROXY_ALERT_MAX_ATTEMPTS", 0, "sam.E006"),
        ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics", "sam.E031"),
    ],
)
def test_bad_values_are_errors_naming_the_variable(settings, setting, value, check_id):
    setattr(settings, setting, value)

    messages = [m for m in run_checks(tags=["sam"]) if m.id == check_id]

    assert messages
    assert setting in messages[0].msg


@pytest.mark.django_db
def test_a_public_url_or_base_domain_is_required(settings):
    settings.AI_PROXY_PUBLIC_URL = ""
    settings.BASE_DOMAIN = ""
    assert "sam.E004" in ids()


@pytest.mark.django_db
def test_rows_on_an_older_key_warn_and_rows_on_a_missing_key_are_errors(alice, bob, settings):
    settings.CREDENTIAL_ENCRYPTION_KEYS = "k1:" + "1" * 64
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    settings.CREDENTIAL_ENCRYPTION_KEYS = "k0:" + "0" * 64
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=bob)

    settings.CREDENTIAL_ENCRYPTION_KEYS = "k2:" + "2" * 64 + ",k1:" + "1" * 64
    found = {m.id: m.msg for m in run_checks(tags=["sam"])}

    assert "older key 'k1'" in found["sam.W011"]
    assert "key 'k0'" in found["sam.E010"]


def start(env_overrides):
    env = {**os.environ, **env_overrides}
    return subprocess.run(
        [sys.executable, "-c", "import sam_project.asgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_server_refuses_to_start_on_a_check_error():
    """The checks run at the ASGI lifespan start-up, where database access is allowed."""
    env = {**os.environ, "AI_PROXY_TOKEN_MODE": "loose", "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "sam_project.asgi:application", "--port", "0"],
        env={**env, "LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "AI_PROXY_TOKEN_MODE" in result.stderr
    assert "Application startup failed" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("AI_PROXY_READ_TIMEOUT", "soon"), ("CALLBACK_TOKEN_TTL", "1 day"), ("DEBUG", "perhaps")],
)
def test_unparseable_values_fail_at_startup_naming_the_variable(name, value):
    result = start({name: value, "DATABASE_URL": "sqlite:///:memory:"})

    assert result.returncode != 0
    assert f"{name} must be" in result.stderr


def test_secret_key_is_required():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "sam_project.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "SECRET_KEY" in result.stderr


def test_env_example_documents_every_setting_read_by_the_settings():
    source = Path("sam_project/settings.py").read_text()
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    read |= set(re.findall(r'_read\(\s*[\w.]+,\s*"([A-Z][A-Z0-9_]+)"', source))
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", Path(".env.example").read_text(), re.M))

    assert "AI_PROXY_TOKEN_MODE" in read
    assert read - documented == set()


def test_the_server_starts_on_env_example_alone():
    clean = {
        "PATH": os.environ["PATH"],
        "SAM_ENV_FILE": ".env.example",
        "DATABASE_URL": "sqlite:///:memory:",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import sam_project.asgi"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
