"""Behind TLS (SPEC §26): SECURE_COOKIES, TRUSTED_PROXY_HEADER, HSTS_SECONDS and
SECURE_SSL_REDIRECT, read from the environment by a real server process, and their absence;
the check that warns when a public host runs without them."""

import re

import httpx
import pytest
from django.core.checks import run_checks

from tests.processes import server_process, set_server_password

HTTPS = {"X-Forwarded-Proto": "https"}
TLS_ENV = {
    "SECURE_COOKIES": "true",
    "TRUSTED_PROXY_HEADER": "X-Forwarded-Proto",
    "HSTS_SECONDS": "31536000",
    "SECURE_SSL_REDIRECT": "true",
}


@pytest.fixture
def tls_server(transactional_db, alice):
    set_server_password(alice, "alice-password-1")
    with server_process(**TLS_ENV) as url:
        yield url


@pytest.fixture
def plain_server(transactional_db, alice):
    set_server_password(alice, "alice-password-1")
    with server_process() as url:
        yield url


def sign_in(url: str, https: bool) -> httpx.Response:
    """Sign alice in through the login form; returns the answer to the form's POST. Over
    "https" (the proxy header) the browser is the proxy's client: it sends the Secure CSRF
    cookie and an https Origin."""
    headers = HTTPS if https else {}
    page = httpx.get(f"{url}/accounts/login/", headers=headers)
    assert page.status_code == 200
    form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert form_token is not None
    return httpx.post(
        f"{url}/accounts/login/",
        data={
            "csrfmiddlewaretoken": form_token.group(1),
            "username": "alice",
            "password": "alice-password-1",
        },
        headers={
            **headers,
            "Cookie": f"csrftoken={page.cookies['csrftoken']}",
            "Origin": url.replace("http://", "https://") if https else url,
        },
    )


def cookie_attributes(response: httpx.Response, name: str) -> set[str]:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    raise AssertionError(f"no {name} cookie set")


def test_behind_tls_cookies_are_secure_and_hsts_is_sent(tls_server):
    response = sign_in(tls_server, https=True)

    assert response.status_code == 302
    assert response.headers["location"] == "/settings/agents/"
    assert "secure" in cookie_attributes(response, "sessionid")
    assert "secure" in cookie_attributes(response, "csrftoken")
    assert "httponly" in cookie_attributes(response, "sessionid")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_behind_tls_plain_http_is_redirected_to_https(tls_server):
    response = httpx.get(f"{tls_server}/accounts/login/?next=/admin/")

    assert response.status_code == 301
    assert response.headers["location"] == (
        tls_server.replace("http://", "https://") + "/accounts/login/?next=/admin/"
    )


def test_behind_tls_health_probes_and_scrapes_over_plain_http_are_not_redirected(tls_server):
    assert httpx.get(f"{tls_server}/health").status_code == 200
    assert httpx.get(f"{tls_server}/health/ready").status_code != 301
    assert httpx.get(f"{tls_server}/metrics").status_code == 200


def test_without_the_tls_settings_cookies_are_not_secure_and_there_is_no_hsts(plain_server):
    response = sign_in(plain_server, https=False)

    assert response.status_code == 302
    assert "secure" not in cookie_attributes(response, "sessionid")
    assert "secure" not in cookie_attributes(response, "csrftoken")
    assert "strict-transport-security" not in response.headers
    # The proxy header means nothing unless TRUSTED_PROXY_HEADER names it.
    page = httpx.get(f"{plain_server}/accounts/login/", headers=HTTPS)
    assert page.status_code == 200
    assert "strict-transport-security" not in page.headers


def warnings_about_tls():
    return [m for m in run_checks(tags=["sam"]) if m.id == "sam.W020"]


@pytest.mark.django_db
def test_a_public_host_without_the_tls_settings_is_warned_about(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "sam.example.com"]
    [warning] = warnings_about_tls()
    assert "sam.example.com" in warning.msg
    for name in ("SECURE_COOKIES", "HSTS_SECONDS", "SECURE_SSL_REDIRECT"):
        assert name in warning.msg


@pytest.mark.django_db
def test_a_public_host_with_the_tls_settings_passes(settings):
    settings.ALLOWED_HOSTS = ["sam.example.com"]
    settings.SECURE_COOKIES = True
    settings.HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = True
    assert warnings_about_tls() == []


@pytest.mark.django_db
@pytest.mark.parametrize("hosts", [["localhost", "127.0.0.1", "[::1]"], ["app.localhost"]])
def test_local_hosts_or_debug_need_no_tls_settings(settings, hosts):
    settings.ALLOWED_HOSTS = hosts
    assert warnings_about_tls() == []
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = True
    assert warnings_about_tls() == []


@pytest.mark.django_db
def test_a_trusted_proxy_header_must_be_a_header_name(settings):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-Proto: https"
    assert "sam.E007" in {m.id for m in run_checks(tags=["sam"])}
