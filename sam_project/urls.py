from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from sam_project import metrics, views

urlpatterns = [
    path("health", views.health),
    path("health/ready", views.health_ready),
    path("metrics", metrics.metrics),
    path("api/", include("workspaces.urls")),
    path("ai/", include("ai_proxy.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Split: the page's set-up script is served by its own request (?script), not inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("settings/", include("portal.urls")),
]

handler400 = "sam_project.views.bad_request"
handler404 = "sam_project.views.not_found"
handler500 = "sam_project.views.server_failure"
