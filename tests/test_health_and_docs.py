import httpx
import pytest
from django.db import DatabaseError

pytestmark = pytest.mark.django_db


def test_health_says_healthy(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_health_says_unhealthy_when_the_database_is_unreachable(client, monkeypatch):
    def broken(*args, **kwargs):
        raise DatabaseError("unreachable")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", broken)

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy"}


def test_the_openapi_schema_describes_the_workspace_api(client):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    schema = response.json()
    assert "/api/workspaces/{workspace_id}/agent-key" in schema["paths"]
    assert "/api/workspaces/{workspace_id}/agent-credential-sync" in schema["paths"]
    assert schema["components"]["securitySchemes"]["workspaceToken"]["scheme"] == "bearer"


def test_the_api_docs_load_their_assets_from_this_server(client):
    page = client.get("/api/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert (
        client.get(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        ).status_code
        == 200
    )


def test_static_files_are_served_by_whitenoise_with_cache_headers(live_url):
    response = httpx.get(f"{live_url}/static/admin/css/base.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "max-age" in response.headers["cache-control"]
    assert httpx.get(f"{live_url}/static/admin/css/nothing-here.css").status_code == 404


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/workspaces/", "/ai/nothing"])
def test_unknown_api_routes_are_json_404s(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/health")["X-Request-ID"]) == 32
    assert client.get("/health", headers={"X-Request-ID": "abc-123"})["X-Request-ID"] == "abc-123"
