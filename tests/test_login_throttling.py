"""Login throttling on /accounts/login/ and /admin/login/ (SPEC §26): LOGIN_FAILURE_LIMIT
failures of one username from one address lock that pair for LOGIN_LOCKOUT_MINUTES, with a
page that says so; the count lives in the database, so it holds across server processes."""

import re
from datetime import timedelta

import httpx
import pytest
import time_machine
from axes.models import AccessAttempt
from django.db import connection
from django.utils import timezone

from tests.processes import server_processes, set_server_password

pytestmark = pytest.mark.django_db

PAGES = {
    "accounts": ("/accounts/login/", "alice", "alice-password-1", "/settings/agents/"),
    "admin": ("/admin/login/?next=/admin/", "admin", "admin-password-1", "/admin/"),
}


@pytest.fixture(params=sorted(PAGES))
def login_page(request, alice, admin_user):
    return PAGES[request.param]


def sign_in(client, path, username, password, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def fail(client, path, username, times, **extra):
    return [sign_in(client, path, username, "wrong-password", **extra) for _ in range(times)]


def test_failures_below_the_limit_leave_the_right_password_working(client, login_page):
    path, username, password, landing = login_page
    answers = fail(client, path, username, 9)

    assert {answer.status_code for answer in answers} == {200}
    response = sign_in(client, path, username, password)
    assert response.status_code == 302
    assert response["Location"] == landing


def test_the_tenth_failure_locks_the_pair_with_a_clear_page(client, login_page):
    path, username, _password, _landing = login_page
    *_before, tenth = fail(client, path, username, 10)

    assert tenth.status_code == 429
    page = tenth.content.decode()
    assert "Too many failed sign-ins" in page
    assert "locked for 15 minutes after 10 failed attempts" in page
    assert "<html" in page
    assert tenth["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in tenth


def test_while_locked_the_right_password_is_refused_and_after_the_window_accepted(
    client, login_page
):
    path, username, password, landing = login_page
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail(client, path, username, 10)

        clock.shift(timedelta(minutes=14, seconds=59))
        locked = sign_in(client, path, username, password)
        assert locked.status_code == 429
        assert "_auth_user_id" not in client.session

        # Trying while locked does not make the lock last longer.
        clock.shift(timedelta(seconds=2))
        response = sign_in(client, path, username, password)
        assert response.status_code == 302
        assert response["Location"] == landing


def test_the_lock_holds_for_login_lockout_minutes_after_login_failure_limit(
    client, alice, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCKOUT_MINUTES = 3, 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        *_before, third = fail(client, "/accounts/login/", "alice", 3)
        assert third.status_code == 429
        assert "locked for 30 minutes after 3 failed attempts" in third.content.decode()
        clock.shift(timedelta(minutes=29))
        assert sign_in(client, "/accounts/login/", "alice", "alice-password-1").status_code == 429
        clock.shift(timedelta(minutes=1, seconds=1))
        assert sign_in(client, "/accounts/login/", "alice", "alice-password-1").status_code == 302


def test_the_lock_is_per_username_and_address(client, alice, bob):
    fail(client, "/accounts/login/", "alice", 10)

    other_address = sign_in(
        client, "/accounts/login/", "alice", "alice-password-1", REMOTE_ADDR="198.51.100.7"
    )
    assert other_address.status_code == 302
    client.logout()
    other_user = sign_in(client, "/accounts/login/", "bob", "bob-password-1")
    assert other_user.status_code == 302


def test_a_successful_sign_in_clears_the_failures(client, alice):
    fail(client, "/accounts/login/", "alice", 9)
    assert sign_in(client, "/accounts/login/", "alice", "alice-password-1").status_code == 302
    client.logout()

    answers = fail(client, "/accounts/login/", "alice", 9)

    assert {answer.status_code for answer in answers} == {200}


def test_an_admin_unlocks_a_pair_by_deleting_its_access_attempt(client, alice, admin_user):
    fail(client, "/accounts/login/", "alice", 10)
    attempt = AccessAttempt.objects.get(username="alice")
    admin = client.__class__()
    admin.force_login(admin_user)

    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "/accounts/login/", "alice", "alice-password-1").status_code == 302


def test_what_axes_keeps_of_a_failed_sign_in_holds_no_password_or_form_token(client, alice):
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    client.post(
        "/accounts/login/",
        {"username": "alice", "password": "guess-0123456789", "csrfmiddlewaretoken": token},
    )

    attempt = AccessAttempt.objects.get(username="alice")
    assert "guess-0123456789" not in attempt.post_data
    assert token not in attempt.post_data


def test_a_spoofed_forwarded_for_does_not_escape_the_lock(client, alice):
    fail(client, "/accounts/login/", "alice", 10)

    response = sign_in(
        client,
        "/accounts/login/",
        "alice",
        "alice-password-1",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_address_it_appended_counts(client, alice, settings):
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-Proto"
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    # Whatever a client puts first, the proxy appends the address it saw.
    fail(
        client,
        "/accounts/login/",
        "alice",
        10,
        HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9",
        **proxy,
    )
    locked = sign_in(
        client,
        "/accounts/login/",
        "alice",
        "alice-password-1",
        HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9",
        **proxy,
    )
    assert locked.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"

    another_client = sign_in(
        client,
        "/accounts/login/",
        "alice",
        "alice-password-1",
        HTTP_X_FORWARDED_FOR="203.0.113.10",
        **proxy,
    )
    assert another_client.status_code == 302


def _form_post(browser: httpx.Client, path: str, username: str, password: str) -> httpx.Response:
    page = browser.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, page.text[:200]
    return browser.post(
        path,
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_lock_holds_across_server_processes(page, alice, admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL on PostgreSQL: the count is shared by the database")
    path, username, password, landing = PAGES[page]
    user = alice if username == "alice" else admin_user
    set_server_password(user, password)

    with server_processes(2) as urls:
        browsers = [httpx.Client(base_url=url) for url in urls]
        answers = [
            _form_post(browsers[number % 2], path, username, "wrong-password")
            for number in range(10)
        ]
        assert [answer.status_code for answer in answers] == [200] * 9 + [429]
        assert AccessAttempt.objects.get(username=username).failures_since_start == 10

        for browser in browsers:
            refused = _form_post(browser, path, username, password)
            assert refused.status_code == 429
            assert "Too many failed sign-ins" in refused.text

        # The lock's window passes: the failures' time moves back beyond it.
        AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
        accepted = _form_post(browsers[1], path, username, password)
        assert accepted.status_code == 302
        assert accepted.headers["location"] == landing
        for browser in browsers:
            browser.close()
