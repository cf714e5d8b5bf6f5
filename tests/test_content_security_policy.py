"""A Content Security Policy on every page (SPEC §26), and pages it does not break: no
inline script, inline style, style attribute or event handler anywhere."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import path

from ai_proxy.models import UsageRecord
from sam_project.urls import urlpatterns as project_urls

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


class InlineCode(HTMLParser):
    """Whatever a policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if "style" in names:
            self.found.append(f"style attribute on <{tag}>")
        self.found += [f"{name} on <{tag}>" for name in names if name.startswith("on")]


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def assert_policed_page(response) -> None:
    policy = directives(response)
    for name, value in POLICY.items():
        assert policy[name] == value, name
    assert "unsafe" not in response["Content-Security-Policy"]
    if response["Content-Type"].startswith("text/html"):
        assert inline_code(response.content.decode()) == []


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/admin/login/",
        "/api/docs/",
        "/no-such-page",
    ],
)
def test_public_pages_carry_the_policy_and_no_inline_code(client, url):
    response = client.get(url)
    assert response.status_code in (200, 404)
    assert_policed_page(response)


def test_the_api_docs_load_their_set_up_script_from_the_same_origin(client):
    page = client.get("/api/docs/").content.decode()
    [script] = re.findall(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page)

    response = client.get(script.replace("&amp;", "&"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_the_users_pages_carry_the_policy(client, alice, project):
    client.force_login(alice)
    for url in ("/settings/agents/", f"/settings/agents/?project={project.pk}"):
        response = client.get(url)
        assert response.status_code == 200
        assert_policed_page(response)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/workspaces/workspace/",
        "/admin/workspaces/workspace/add/",
        "/admin/credentials/platformcredential/add/",
        "/admin/credentials/usercredential/",
        "/admin/catalog/proxysettings/add/",
        "/admin/catalog/modelcatalogentry/",
        "/admin/ai_proxy/usagerecord/?period=7d",
        "/admin/axes/accessattempt/",
    ],
)
def test_admin_pages_carry_the_policy_and_no_inline_code(client, admin_user, url, alice, ws):
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    assert_policed_page(response)


def test_the_usage_page_with_data_has_no_inline_style(client, admin_user, alice):
    UsageRecord.objects.create(
        user=alice,
        model="claude-sonnet-4-6",
        provider="anthropic",
        route="/ai/anthropic/v1/messages",
        input_tokens=1000,
        output_tokens=100,
        cost_usd=Decimal("0.0045"),
        status=200,
    )
    client.force_login(admin_user)
    response = client.get("/admin/ai_proxy/usagerecord/?period=7d")
    assert UsageRecord.objects.exists()
    assert 'class="swatch"' in response.content.decode()
    assert_policed_page(response)


def _fails(request: HttpRequest):
    raise RuntimeError("a bug")


urlpatterns = [path("fails", _fails), *project_urls]
handler404 = "sam_project.views.not_found"
handler500 = "sam_project.views.server_failure"


@pytest.mark.urls(__name__)
def test_the_server_error_page_carries_the_policy():
    client = Client(raise_request_exception=False)
    response = client.get("/fails")
    assert response.status_code == 500
    assert_policed_page(response)
