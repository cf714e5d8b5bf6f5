"""No HTML on /api/ or /ai/ (SPEC §15): odd paths are JSON 404s, and what Django itself
refuses (SuspiciousOperation) is a JSON 400, or a 413 for a body over its memory limit."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.test import RequestFactory

from sam_project.views import bad_request

pytestmark = pytest.mark.django_db

API_404 = {"error": "not_found", "message": "No such endpoint."}
OPENAI_404 = {
    "error": {
        "message": "No such endpoint.",
        "type": "invalid_request_error",
        "param": None,
        "code": "not_found",
    }
}
ANTHROPIC_404 = {
    "type": "error",
    "error": {"type": "not_found_error", "message": "No such endpoint."},
}
ODD_PATHS = {
    "//api/workspaces/x/agent-key": API_404,
    "///api/": API_404,
    "/api": API_404,
    "//ai/v1/models": OPENAI_404,
    "//ai/v1/chat/completions": OPENAI_404,
    "//ai/anthropic/v1/messages": ANTHROPIC_404,
}


@pytest.mark.parametrize(("path", "expected"), ODD_PATHS.items(), ids=ODD_PATHS.keys())
def test_an_odd_api_path_is_a_json_404_in_the_routes_shape(client, path, expected):
    # PATH_INFO given as is: the test client would read "//ai/…" as a host name.
    response = client.get("/", PATH_INFO=path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == expected


def test_other_unknown_paths_are_still_html_pages(client):
    response = client.get("/", PATH_INFO="//settings/nothing")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def live_get(live_url: str, path: str) -> tuple[int, str, bytes]:
    address = urlsplit(live_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("content-type", ""), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(("path", "expected"), ODD_PATHS.items(), ids=ODD_PATHS.keys())
def test_the_live_server_answers_an_odd_api_path_with_a_json_404(live_url, path, expected):
    status, content_type, body = live_get(live_url, path)

    assert (status, content_type) == (404, "application/json")
    assert json.loads(body) == expected


def test_too_many_query_parameters_are_a_json_400(client, ws):
    query = "&".join(f"p{number}=1" for number in range(1200))

    response = client.get(f"{ws.url()}?{query}", headers=ws.headers)

    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "message": "The request was refused as malformed.",
    }


def test_the_live_server_answers_too_many_query_parameters_with_a_json_400(live_url):
    status, content_type, body = live_get(
        live_url, "/api/schema/?" + "&".join(f"p{number}=1" for number in range(1200))
    )

    assert (status, content_type) == (400, "application/json")
    assert json.loads(body)["error"] == "bad_request"


# No route reads a body this way today (the workspace API's parser reads no more than its
# cap), but a view that read `request.body` would meet Django's limit: these call the handler.
def test_a_body_over_djangos_memory_limit_is_a_json_413_on_the_api():
    response = bad_request(RequestFactory().post("/api/anything"), RequestDataTooBig())

    assert response.status_code == 413
    assert json.loads(response.content) == {
        "error": "payload_too_large",
        "message": "The request body is too large.",
    }


def test_a_body_over_djangos_memory_limit_is_a_413_in_the_proxys_dialect():
    response = bad_request(RequestFactory().post("/ai/anthropic/v1/messages"), RequestDataTooBig())

    assert response.status_code == 413
    assert json.loads(response.content) == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "The request body is too large."},
    }


def test_what_django_refuses_outside_the_api_is_still_its_html_page():
    response = bad_request(RequestFactory().post("/admin/login/"), TooManyFieldsSent())

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_host_that_is_not_allowed_is_a_json_400_on_the_api(client):
    response = client.get("/api/schema/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
