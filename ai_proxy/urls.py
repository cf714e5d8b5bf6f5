"""Routes under /ai/, one per `catalog.routes.ROUTES`; anything else is a 404 in the dialect
its path suggests."""

from django.urls import path, re_path

from ai_proxy import views
from catalog.routes import ROUTES

urlpatterns = [
    *(path(route.full_path.removeprefix("/ai/"), views.route_view(route)) for route in ROUTES),
    re_path(r"", views.not_found),
]
